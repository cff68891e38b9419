"""Writing a job's results: one record per input, in input order, all or nothing.

The file is written under a temporary name beside the target and renamed at the end, so a
crash never leaves a half-written results file. For CSV and Parquet inputs the input's columns
are kept: the input is read again in step with the ledger (both are in input order).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from batchgraph.errors import ConfigError, InputError, InputProblem
from batchgraph.io.options import ReadOptions
from batchgraph.io.reading import resolve_format
from batchgraph.io.records import RESULT_COLUMNS
from batchgraph.io.sinks import CsvSink, JsonlSink, ParquetSink, Sink
from batchgraph.io.tables import Table, TableRow, open_table, row_id
from batchgraph.model import JSON

OUTPUT_SUFFIXES = (".jsonl", ".csv", ".parquet")
_CHANGED_FIX = "pass the input file the job was submitted with"


def write_results(
    records: Iterable[dict[str, JSON]],
    out_path: Path,
    *,
    input_path: Path | None = None,
    read_options: ReadOptions | None = None,
) -> int:
    """Write every record (`records.result_record`) to `out_path` (.jsonl, .csv or .parquet);
    return how many were written."""
    suffix = check_output_path(out_path)
    options = read_options or ReadOptions()
    with ExitStack() as stack:
        table = _input_table(stack, input_path, options)
        renamed = _input_names(table.columns) if table else {}
        if table is not None and input_path is not None:
            records = _joined(iter(records), table, renamed, input_path, options.id_column)
        with _replacing(out_path) as temporary:
            sink = _open_sink(suffix, temporary, table, renamed)
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
    work is sent; return its suffix."""
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


def _input_names(columns: tuple[str, ...]) -> dict[str, str]:
    """Input column → output column; names the results use get an `input_` prefix."""
    return {name: f"input_{name}" if name in RESULT_COLUMNS else name for name in columns}


def _joined(
    records: Iterator[dict[str, JSON]],
    table: Table,
    renamed: dict[str, str],
    input_path: Path,
    id_column: str | None,
) -> Iterator[dict[str, JSON]]:
    """Each record preceded by its input row's columns; refuses an input that has changed."""
    rows = (row for row in table.rows if isinstance(row, TableRow))
    for record in records:
        row = next(rows, None)
        if row is None:
            problem = f"the input ends before result {record['id']!r}"
            raise InputError(str(input_path), [InputProblem(0, problem, _CHANGED_FIX)])
        if row_id(row, id_column) != record["id"]:
            problem = f"this row's id does not match result {record['id']!r}"
            raise InputError(str(input_path), [InputProblem(row.line, problem, _CHANGED_FIX)])
        joined: dict[str, JSON] = {renamed[name]: row.values.get(name) for name in renamed}
        joined.update(record)
        yield joined


def _open_sink(suffix: str, path: Path, table: Table | None, renamed: dict[str, str]) -> Sink:
    columns = (*renamed.values(), *RESULT_COLUMNS)
    if suffix == ".csv":
        return CsvSink(path, columns)
    if suffix == ".parquet":
        return ParquetSink(path, _input_fields(table, renamed))
    return JsonlSink(path)


def _input_fields(table: Table | None, renamed: dict[str, str]) -> list[Any]:
    """Parquet fields for the kept input columns: the input's own types, or text for CSV."""
    import pyarrow as pa

    if table is None:
        return []
    schema = table.arrow_schema
    if schema is None:
        return [pa.field(name, pa.string()) for name in renamed.values()]
    return [schema.field(name).with_name(renamed[name]) for name in renamed]


@contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` that replaces it only if the block succeeds."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as err:
        raise ConfigError(
            f"cannot write {target}: {err.strerror or err} — choose a folder you can write to"
        ) from err
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
