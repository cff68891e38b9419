"""Which columns a results table gets, and what goes in them.

A table has the result columns the job produced (an embedding column for embeddings, tool calls
when a tool was called, …: no column that is empty on every row), one `answer_<property>`
column per top-level property of the job's JSON schema, typed as the schema says, and, for a
table input, the input's columns under their own names with every result column prefixed
`result_`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from batchgraph.io.records import RESULT_COLUMNS
from batchgraph.model import JSON, OutputSchema

ALWAYS = ("id", "status", "model", "input_tokens", "output_tokens", "cached_tokens", "attempts")
"""Columns every results table has; the others only when some row has a value in them."""
RESULT_PREFIX = "result_"
ANSWER_PREFIX = "answer_"


def present_columns(records: Iterable[dict[str, JSON]]) -> set[str]:
    """The optional result columns with a value (not null, not zero) in some record."""
    optional = [name for name in RESULT_COLUMNS if name not in ALWAYS]
    present: set[str] = set()
    for record in records:
        for name in optional:
            if name not in present and record.get(name) not in (None, 0, ""):
                present.add(name)
        if len(present) == len(optional):
            break
    return present


@dataclass(frozen=True, slots=True)
class ResultLayout:
    """The result part of a table's columns: which record fields, under which names."""

    fields: tuple[str, ...]
    """Record fields written, in `RESULT_COLUMNS` order."""
    prefix: str
    answers: tuple[tuple[str, dict[str, Any]], ...] = ()
    """(property, its schema) for each top-level schema property."""

    @classmethod
    def for_job(
        cls, present: set[str] | None, schema: OutputSchema | None, prefix: str = ""
    ) -> ResultLayout:
        """`present` None keeps every result column (nothing was read ahead)."""
        fields = tuple(
            name for name in RESULT_COLUMNS if present is None or name in ALWAYS or name in present
        )
        properties = (schema.schema.get("properties") if schema is not None else None) or {}
        answers = tuple(
            (name, spec if isinstance(spec, dict) else {}) for name, spec in properties.items()
        )
        return cls(fields, prefix, answers)

    @property
    def columns(self) -> tuple[str, ...]:
        names = [self.prefix + name for name in self.fields]
        names.extend(self.prefix + ANSWER_PREFIX + name for name, _ in self.answers)
        return tuple(names)

    def row(self, record: dict[str, JSON]) -> dict[str, JSON]:
        """The record's values under this layout's column names."""
        out = {self.prefix + name: record.get(name) for name in self.fields}
        if self.answers:
            parsed = record.get("parsed")
            parsed = parsed if isinstance(parsed, dict) else {}
            for name, _ in self.answers:
                out[self.prefix + ANSWER_PREFIX + name] = parsed.get(name)
        return out

    def arrow_fields(self, pa: Any) -> list[Any]:
        text, count = pa.string(), pa.int64()
        types = {
            "embedding": pa.list_(pa.float64()),
            "input_tokens": count,
            "output_tokens": count,
            "cached_tokens": count,
            "reasoning_tokens": count,
            "attempts": count,
        }
        fields = [pa.field(self.prefix + name, types.get(name, text)) for name in self.fields]
        fields.extend(
            pa.field(self.prefix + ANSWER_PREFIX + name, arrow_type(spec, pa))
            for name, spec in self.answers
        )
        return fields


_SCALARS = {"string": "string", "integer": "int64", "number": "float64", "boolean": "bool_"}


def arrow_type(schema: dict[str, Any], pa: Any) -> Any:
    """The Parquet type of a JSON schema property: scalars as themselves, arrays of scalars as
    lists, anything else (objects, unions) as JSON text."""
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: nullable, which every column is
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind is None and "enum" in schema:
        values = schema["enum"]
        kind = "string" if all(isinstance(v, str) for v in values) else None
    if kind in _SCALARS:
        return getattr(pa, _SCALARS[kind])()
    items = schema.get("items")
    if kind == "array" and isinstance(items, dict) and items.get("type") in _SCALARS:
        return pa.list_(getattr(pa, _SCALARS[items["type"]])())
    return pa.string()
