"""Record writers for the three output formats, each streaming to an open file.

JSONL keeps JSON values as they are; CSV writes `parsed` and `embedding` as JSON text; Parquet
writes `parsed` as JSON text and `embedding` as a list of floats, in row groups.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any, Protocol

from batchgraph import jsoncodec
from batchgraph.io.records import RESULT_COLUMNS
from batchgraph.model import JSON

PARQUET_ROW_GROUP = 10_000
_JSON_TEXT_COLUMNS = ("parsed", "embedding")
_PARQUET_JSON_TEXT = ("parsed", "tool_calls", "logprobs")


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
    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(columns)

    def write(self, record: dict[str, JSON]) -> None:
        self._writer.writerow(_csv_value(key, value) for key, value in record.items())

    def close(self) -> None:
        self._file.close()


def _csv_value(key: str, value: JSON) -> str:
    if value is None:
        return ""
    if key in _JSON_TEXT_COLUMNS or isinstance(value, dict | list):
        return _json_text(value) or ""
    return str(value)


class ParquetSink:
    """Buffers `PARQUET_ROW_GROUP` records, then writes them as one row group."""

    def __init__(self, path: Path, input_fields: list[Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = pa.schema([*input_fields, *_result_fields(pa)])
        self._writer = pq.ParquetWriter(str(path), self._schema)
        self._buffer: list[dict[str, JSON]] = []

    def write(self, record: dict[str, JSON]) -> None:
        for key in _PARQUET_JSON_TEXT:
            if record.get(key) is not None:
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


def _result_fields(pa: Any) -> list[Any]:
    text, count = pa.string(), pa.int64()
    types = {
        "embedding": pa.list_(pa.float64()),
        "input_tokens": count,
        "output_tokens": count,
        "cached_tokens": count,
        "reasoning_tokens": count,
        "attempts": count,
    }
    return [pa.field(name, types.get(name, text)) for name in RESULT_COLUMNS]
