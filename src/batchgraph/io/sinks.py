"""Record writers for the three output formats, each streaming to an open file.

JSONL keeps JSON values as they are; CSV writes JSON values (`parsed`, `embedding`, tool calls)
as JSON text; Parquet writes them as JSON text in text columns and keeps typed columns (an
embedding's floats, a schema property's numbers) typed, in row groups.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any, Protocol

from batchgraph import jsoncodec
from batchgraph.model import JSON

PARQUET_ROW_GROUP = 10_000


class Sink(Protocol):
    def write(self, record: dict[str, JSON]) -> None: ...

    def close(self) -> None: ...


def _json_text(value: JSON) -> str | None:
    return None if value is None else jsoncodec.dumps_bytes(value, str).decode()


class JsonlSink:
    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")
        self._owned = True

    @classmethod
    def over(cls, stream: IO[bytes]) -> JsonlSink:
        """Write to a stream the caller owns (standard output): flushed, never closed."""
        sink = cls.__new__(cls)
        sink._file, sink._owned = stream, False
        return sink

    def write(self, record: dict[str, JSON]) -> None:
        self._file.write(jsoncodec.dumps_bytes(record, str) + b"\n")

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()


class CsvSink:
    """One row per record, its values in `columns` order (JSON values as JSON text)."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(columns)
        self._columns = columns

    def write(self, record: dict[str, JSON]) -> None:
        self._writer.writerow(_csv_value(record.get(name)) for name in self._columns)

    def close(self) -> None:
        self._file.close()


def _csv_value(value: JSON) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return _json_text(value) or ""
    return str(value)


class ParquetSink:
    """Buffers `PARQUET_ROW_GROUP` records, then writes them as one row group; a JSON value
    bound for a text column (`parsed`, tool calls, an object property) is written as JSON
    text."""

    def __init__(self, path: Path, fields: list[Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = pa.schema(fields)
        self._text = [f.name for f in fields if f.type == pa.string()]
        self._writer = pq.ParquetWriter(str(path), self._schema)
        self._buffer: list[dict[str, JSON]] = []

    def write(self, record: dict[str, JSON]) -> None:
        for key in self._text:
            if isinstance(record.get(key), dict | list):
                record[key] = _json_text(record[key])
        self._buffer.append(record)
        if len(self._buffer) >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            table = self._pa.Table.from_pylist(self._buffer, schema=self._schema)
            self._writer.write_table(table)
            self._buffer.clear()

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._writer.close()
