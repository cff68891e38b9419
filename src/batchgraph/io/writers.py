"""Writing a job's results: one record per input, in input order, all or nothing.

The file is written under a temporary name beside the target and renamed at the end, so a
crash never leaves a half-written results file; it gets the mode a plain write would give it
(the umask's, or the mode of the file it replaces). `-` writes JSONL to standard output. For
CSV and Parquet inputs the input's columns are kept: the input is read again in step with the
ledger (both are in input order).
"""

from __future__ import annotations

import os
import secrets
import sys
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
STDOUT = "-"
"""The output name that means: JSONL on standard output."""
_CHANGED_FIX = "pass the input file the job was submitted with"


def write_results(
    records: Iterable[dict[str, JSON]],
    out_path: Path,
    *,
    input_path: Path | None = None,
    read_options: ReadOptions | None = None,
) -> int:
    """Write every record (`records.result_record`) to `out_path` (.jsonl, .csv or .parquet,
    or `-` for JSONL on standard output); return how many were written."""
    to_stdout = str(out_path) == STDOUT
    suffix = check_output_path(out_path)
    options = read_options or ReadOptions()
    with ExitStack() as stack:
        table = _input_table(stack, input_path, options)
        renamed = _input_names(table.columns) if table else {}
        if table is not None and input_path is not None:
            records = _joined(iter(records), table, renamed, input_path, options.id_column)
        if to_stdout:
            sys.stdout.flush()
            return _drain(records, JsonlSink.over(sys.stdout.buffer))
        with _replacing(out_path) as temporary:
            return _drain(records, _open_sink(suffix, temporary, table, renamed))


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
