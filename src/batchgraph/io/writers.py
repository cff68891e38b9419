"""Writing a job's results: one record per input, in input order, all or nothing.

The file is written under a temporary name beside the target and renamed at the end, so a
crash never leaves a half-written results file; it gets the mode a plain write would give it
(the umask's, or the mode of the file it replaces). `-` writes JSONL to standard output. For
CSV and Parquet inputs the input's columns are kept under their own names, the results' beside
them prefixed `result_` (`io.result_columns`): the input is read again in step with the ledger
(both are in input order).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from batchgraph.errors import ConfigError, InputError, InputProblem
from batchgraph.io.openai_results import openai_output_lines
from batchgraph.io.options import ReadOptions
from batchgraph.io.reading import resolve_format
from batchgraph.io.result_columns import RESULT_PREFIX, ResultLayout, present_columns
from batchgraph.io.sinks import CsvSink, JsonlSink, ParquetSink, Sink
from batchgraph.io.tables import Table, TableRow, open_table, row_id
from batchgraph.model import JSON

OUTPUT_SUFFIXES = (".jsonl", ".csv", ".parquet")
STDOUT = "-"
"""The output name that means: JSONL on standard output."""
_CHANGED_FIX = "pass the input file the job was submitted with"


Records = Iterable[dict[str, JSON]] | Callable[[], Iterable[dict[str, JSON]]]
"""Results records, or a way to read them (twice, for a table: once to see which columns
have values)."""
RESULTS_FORMATS = ("batchgraph", "openai")


def write_results(
    records: Records,
    out_path: Path,
    *,
    input_path: Path | None = None,
    read_options: ReadOptions | None = None,
    results_format: str = "batchgraph",
) -> int:
    """Write every record (`records.result_record`) to `out_path` (.jsonl, .csv or .parquet,
    or `-` for JSONL on standard output); return how many were written.

    `results_format="openai"` writes OpenAI's batch output lines instead (JSONL only), so a
    parser written for OpenAI's output files reads them (`io.openai_results`).
    """
    to_stdout = str(out_path) == STDOUT
    suffix = check_output_path(out_path)
    options = read_options or ReadOptions()
    if results_format not in RESULTS_FORMATS:
        raise ConfigError(
            f"--results-format {results_format!r}: use one of {', '.join(RESULTS_FORMATS)}"
        )
    if results_format == "openai" and suffix != ".jsonl":
        raise ConfigError(
            "--results-format openai writes OpenAI's batch output, which is JSONL — name the "
            "file .jsonl"
        )
    with ExitStack() as stack:
        if results_format == "openai":
            rows: Iterable[dict[str, JSON]] = openai_output_lines(_read(records))
            columns: tuple[str, ...] = ()
            fields: list[Any] = []
        else:
            table = _input_table(stack, input_path, options)
            layout = _layout(records, suffix, table, options)
            rows = _rows(_read(records), layout, table, input_path, options.id_column)
            columns = (*(table.columns if table else ()), *layout.columns)
            fields = [*_input_fields(table), *_arrow_fields(layout, suffix)]
        if to_stdout:
            sys.stdout.flush()
            return _drain(rows, JsonlSink.over(sys.stdout.buffer))
        with _replacing(out_path) as temporary:
            return _drain(rows, _open_sink(suffix, temporary, columns, fields))


def _read(records: Records) -> Iterable[dict[str, JSON]]:
    return records() if callable(records) else records


def _layout(
    records: Records, suffix: str, table: Table | None, options: ReadOptions
) -> ResultLayout:
    """A table (CSV, Parquet) gets the columns the job produced and one per schema property;
    JSONL records keep every field. Beside a table input's columns, result columns take the
    `result_` prefix."""
    prefix = RESULT_PREFIX if table is not None else ""
    if suffix == ".jsonl":
        return ResultLayout.for_job(None, None, prefix)
    present = present_columns(records()) if callable(records) else None
    return ResultLayout.for_job(present, options.output_schema, prefix)


def _arrow_fields(layout: ResultLayout, suffix: str) -> list[Any]:
    if suffix != ".parquet":
        return []
    import pyarrow as pa

    return layout.arrow_fields(pa)


def _drain(records: Iterable[dict[str, JSON]], sink: Sink) -> int:
    try:
        count = 0
        for record in records:
            sink.write(record)
            count += 1
    finally:
        sink.close()
    return count


def check_output_path(out_path: Path) -> str:
    """Refuse a results path that cannot be written (its format, or its folder), before any
    work is sent; return its suffix (`.jsonl` for `-`, standard output)."""
    if str(out_path) == STDOUT:
        return ".jsonl"
    suffix = out_path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(
            f"{out_path}: cannot write results as {suffix or 'a file without extension'!r} — "
            f"name the file with one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    if out_path.is_dir():
        raise ConfigError(f"{out_path} is a folder; name a results file inside it")
    folder = out_path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(
            f"cannot write {out_path}: {folder} is a file, not a folder — choose another path"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot write {out_path}: the folder {folder} is not writable — choose a folder "
            "you can write to"
        )
    return suffix


def _input_table(stack: ExitStack, input_path: Path | None, options: ReadOptions) -> Table | None:
    if input_path is None:
        return None
    fmt = resolve_format(input_path, options)
    if not fmt.is_table:
        return None
    return stack.enter_context(open_table(input_path, fmt))


def _rows(
    records: Iterable[dict[str, JSON]],
    layout: ResultLayout,
    table: Table | None,
    input_path: Path | None,
    id_column: str | None,
) -> Iterator[dict[str, JSON]]:
    """Each record in the layout, after its input row's columns (under their own names);
    refuses an input that has changed."""
    if table is None or input_path is None:
        yield from map(layout.row, records)
        return
    rows = (row for row in table.rows if isinstance(row, TableRow))
    for record in records:
        row = next(rows, None)
        if row is None:
            problem = f"the input ends before result {record['id']!r}"
            raise InputError(str(input_path), [InputProblem(0, problem, _CHANGED_FIX)])
        if row_id(row, id_column) != record["id"]:
            problem = f"this row's id does not match result {record['id']!r}"
            raise InputError(str(input_path), [InputProblem(row.line, problem, _CHANGED_FIX)])
        joined: dict[str, JSON] = {name: row.values.get(name) for name in table.columns}
        joined.update(layout.row(record))
        yield joined


def _open_sink(suffix: str, path: Path, columns: tuple[str, ...], fields: list[Any]) -> Sink:
    if suffix == ".csv":
        return CsvSink(path, columns)
    if suffix == ".parquet":
        return ParquetSink(path, fields)
    return JsonlSink(path)


def _input_fields(table: Table | None) -> list[Any]:
    """Parquet fields for the kept input columns: the input's own types, or text for CSV."""
    import pyarrow as pa

    if table is None:
        return []
    schema = table.arrow_schema
    if schema is None:
        return [pa.field(name, pa.string()) for name in table.columns]
    return [schema.field(name) for name in table.columns]


@contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` that replaces it only if the block succeeds.

    Made by `os.open` with mode 0o666, so the umask applies as to any new file (`mkstemp`
    would make it 0600 whatever the umask); a file it replaces passes on its own mode.
    """
    temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as err:
        raise ConfigError(
            f"cannot write {target}: {err.strerror or err} — choose a folder you can write to"
        ) from err
    try:
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
