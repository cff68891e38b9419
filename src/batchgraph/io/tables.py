"""CSV and Parquet inputs: one request per row, the prompt made from a template over the columns.

Rows are streamed (the csv module; Parquet by record batches). For CSV, an entry's line is the
file line where its row starts (the header is line 1); for Parquet it is the row number. The
default id is the row number, counted from 1.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchgraph.errors import ConfigError, InputProblem
from batchgraph.io.options import InputFormat, ReadOptions
from batchgraph.io.problems import Entry, Issues
from batchgraph.io.template import PromptTemplate
from batchgraph.model import JSON, Kind, Request
from batchgraph.params import CHAT_PARAMS, EMBEDDING_PARAMS

PARQUET_BATCH_ROWS = 4096
_CSV_FIELD_LIMIT = 1 << 28  # long prompts exceed the csv module's default of 128 KiB


@dataclass(frozen=True, slots=True)
class TableRow:
    line: int
    number: int
    values: Mapping[str, Any]


@dataclass(slots=True)
class Table:
    """An open table: its column names, and its rows (or a problem for an unreadable row)."""

    columns: tuple[str, ...]
    rows: Iterator[TableRow | InputProblem]
    arrow_schema: Any = None
    """The Parquet schema (pyarrow), so writers can keep the input's column types."""


@contextmanager
def open_table(path: Path, fmt: InputFormat) -> Iterator[Table]:
    if fmt is InputFormat.PARQUET:
        with _open_parquet(path) as table:
            yield table
    else:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            try:
                table = _csv_table(handle)
            except UnicodeDecodeError as err:
                raise ConfigError(f"{path}: {_not_utf8(err)} — {UTF8_FIX}") from err
            yield table


def _csv_table(handle: Any) -> Table:
    csv.field_size_limit(max(csv.field_size_limit(), min(_CSV_FIELD_LIMIT, sys.maxsize)))
    reader = csv.reader(handle, strict=True)  # an unclosed quote must not swallow the file
    header = next(reader, None)
    columns = tuple(header or ())
    return Table(columns, _csv_rows(reader, columns))


def _csv_rows(reader: Any, columns: tuple[str, ...]) -> Iterator[TableRow | InputProblem]:
    number = 0
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield _quoting_problem(start, err)
            return
        except UnicodeDecodeError as err:
            yield InputProblem(start, _not_utf8(err), UTF8_FIX)
            return
        line, start = start, reader.line_num + 1
        if not fields:
            continue
        number += 1
        if len(fields) != len(columns):
            yield InputProblem(
                line,
                f"row has {len(fields)} fields, the header has {len(columns)}",
                'quote fields that contain commas: "a, b"',
            )
            continue
        yield TableRow(line, number, dict(zip(columns, fields, strict=True)))


UTF8_FIX = "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.csv > out.csv)"


def _not_utf8(err: UnicodeDecodeError) -> str:
    return f"not UTF-8 text (byte 0x{err.object[err.start]:02x} cannot start a character)"


def _quoting_problem(line: int, err: csv.Error) -> InputProblem:
    """The row starting at `line` cannot be read; a quote left open is the usual cause."""
    if "unexpected end of data" in str(err):
        return InputProblem(
            line,
            "a quote opened in the row on this line is never closed, so the rest of the file "
            "would be read as one field",
            'close the quoted field with ", or write a quote inside one as ""',
        )
    return InputProblem(
        line,
        f"unreadable CSV ({err})",
        'fix the quoting on this line: a quoted field ends with " before the next comma',
    )


@contextmanager
def _open_parquet(path: Path) -> Iterator[Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise ConfigError(
            f"{path}: not a readable Parquet file ({err}) — check the file, or name a CSV file .csv"
        ) from err
    try:
        schema = parquet.schema_arrow
        yield Table(tuple(schema.names), _parquet_rows(parquet), schema)
    finally:
        parquet.close()


def _parquet_rows(parquet: Any) -> Iterator[TableRow | InputProblem]:
    import pyarrow as pa

    number = 0
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as err:
            yield InputProblem(number + 1, f"unreadable Parquet data ({err})", "check the file")
            return
        if batch is None:
            return
        for values in batch.to_pylist():
            number += 1
            yield TableRow(number, number, values)


def row_id(row: TableRow, id_column: str | None) -> str | None:
    """The row's id: its id column's value, or its row number."""
    if id_column is None:
        return str(row.number)
    value = row.values.get(id_column)
    if value is None or not str(value).strip():
        return None
    return str(value)


def table_entries(path: Path, fmt: InputFormat, options: ReadOptions) -> Iterator[Entry]:
    """One entry per row, after one entry for the problems of the table as a whole."""
    with open_table(path, fmt) as table:
        template, header = _check_table(table.columns, options)
        if header:
            yield Entry(1, None, None, header.merged())
        kind = options.kind or Kind.CHAT
        for row in table.rows:
            if isinstance(row, InputProblem):
                yield Entry(row.line, None, None, (row,))
            else:
                yield _row_entry(row, template, kind, options)


def _check_table(
    columns: tuple[str, ...], options: ReadOptions
) -> tuple[PromptTemplate | None, Issues]:
    issues = Issues(1)
    listed = ", ".join(columns) or "(none)"
    if options.model is None:
        issues.add("no model", "pass --model")
    if options.id_column is not None and options.id_column not in columns:
        issues.add(f"no id column {options.id_column!r}", f"pick one of the columns: {listed}")
    text = options.template or _default_template(columns, options.kind)
    if text is None:
        issues.add(
            "no prompt template", 'pass --prompt-template "...{column}..." or add a "prompt" column'
        )
        return None, issues
    template = PromptTemplate(text)
    unknown = template.unknown_columns(columns)
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in unknown)
        issues.add(
            f"the prompt template uses {names}, which the table does not have",
            f"use only the columns: {listed}",
        )
        return None, issues
    return template, issues


def _default_template(columns: tuple[str, ...], kind: Kind | None) -> str | None:
    names = ("input", "prompt") if kind is Kind.EMBEDDING else ("prompt",)
    for name in names:
        if name in columns:
            return f"{{{name}}}"
    return None


def _row_entry(
    row: TableRow, template: PromptTemplate | None, kind: Kind, options: ReadOptions
) -> Entry:
    issues = Issues(row.line)
    request_id = row_id(row, options.id_column)
    if request_id is None:
        issues.add(f"empty id in column {options.id_column!r}", "give every row an id")
    if template is None or options.model is None:
        return Entry(row.line, request_id, None, issues.merged())
    try:
        text = template.render(row.values)
    except ValueError as err:
        issues.add(str(err), "change the template's format spec or the value")
        return Entry(row.line, request_id, None, issues.merged())
    if not text.strip():
        columns = ", ".join(template.columns)
        issues.add("empty prompt", f"fill the column(s) {columns} on this row or remove it")
    if issues or request_id is None:
        return Entry(row.line, request_id, None, issues.merged())
    request = _request(request_id, row.line, options.model, text, kind, options)
    return Entry(row.line, request_id, request)


def _request(
    request_id: str, line: int, model: str, text: str, kind: Kind, options: ReadOptions
) -> Request:
    if kind is Kind.EMBEDDING:
        params = job_params(options, EMBEDDING_PARAMS)
        return Request(id=request_id, line=line, model=model, kind=kind, input=text, params=params)
    return Request(
        id=request_id,
        line=line,
        model=model,
        messages=({"role": "user", "content": text},),
        system=options.system,
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        output_schema=options.output_schema,
        params=job_params(options, CHAT_PARAMS),
    )


def job_params(options: ReadOptions, allowed: Mapping[str, object]) -> dict[str, JSON] | None:
    """The job's `--param` options that apply to a request of this kind, or None."""
    if not options.params:
        return None
    return {key: value for key, value in options.params.items() if key in allowed} or None
