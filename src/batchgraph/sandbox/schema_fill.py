"""Make a JSON value that validates against a JSON schema, chosen deterministically.

Covers what structured-output schemas use: objects (every property, so strict mode is met),
arrays with min/max items, enums and consts, strings with common formats and length bounds,
numbers with bounds, booleans, null, `anyOf`/`oneOf`/`allOf` and local `$ref`s.
"""

from __future__ import annotations

import random
from typing import Any

_WORDS = ("alpha", "bravo", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juno")
_FORMATS = {
    "date": "2026-01-15",
    "date-time": "2026-01-15T09:30:00Z",
    "time": "09:30:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/item",
    "uuid": "8f14e45f-ceea-467f-a7a2-3f1b1a5e8c12",
    "ipv4": "192.0.2.1",
}
_MAX_DEPTH = 12


def fill(schema: dict[str, Any], rng: random.Random) -> Any:
    """A value valid under `schema` (a dict; `$ref`s point into the same document)."""
    return _Filler(schema, rng).value(schema, 0)


class _Filler:
    def __init__(self, root: dict[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def value(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None
        if "$ref" in schema:
            return self.value(self._resolve(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.value(_first_non_null(schema[key]), depth + 1)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged = _merge(merged, self._deref(part))
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value(_merge(merged, rest), depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        return getattr(self, f"_{kind}", self._string)(schema, depth)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        return {name: self.value(sub, depth + 1) for name, sub in props.items()}

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 1))
        high = int(schema.get("maxItems", max(low, 3)))
        count = self.rng.randint(low, max(low, high))
        items = schema.get("items", {})
        prefix = schema.get("prefixItems", [])
        out = [self.value(sub, depth + 1) for sub in prefix[:count]]
        out += [self.value(items, depth + 1) for _ in range(count - len(out))]
        if schema.get("uniqueItems"):
            out = _unique(out)
        return out

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        fmt = schema.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt]
        text = " ".join(self.rng.choice(_WORDS) for _ in range(self.rng.randint(1, 4)))
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        text = text.ljust(low, "x")
        return text[: int(high)] if high is not None else text

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        low, high = _bounds(schema, 0, 100)
        low_i = int(low) + (1 if "exclusiveMinimum" in schema else 0)
        high_i = int(high) - (1 if "exclusiveMaximum" in schema else 0)
        value = self.rng.randint(low_i, max(low_i, high_i))
        step = schema.get("multipleOf")
        return value - value % int(step) if step else value

    def _number(self, schema: dict[str, Any], depth: int) -> float:
        if schema.get("multipleOf"):
            return float(self._integer(schema, depth))
        low, high = _bounds(schema, 0.0, 1.0)
        return round(low + (high - low) * (0.25 + self.rng.random() / 2), 4)

    def _boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: dict[str, Any], depth: int) -> None:
        return None

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
        return node

    def _deref(self, schema: Any) -> dict[str, Any]:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self._resolve(schema["$ref"])
        return schema if isinstance(schema, dict) else {}


def _first_non_null(options: list[Any]) -> Any:
    return next(
        (o for o in options if not (isinstance(o, dict) and o.get("type") == "null")), options[0]
    )


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if key == "properties":
            out[key] = {**out.get(key, {}), **value}
        elif key == "required":
            out[key] = [*out.get(key, []), *value]
        else:
            out[key] = value
    return out


def _bounds(schema: dict[str, Any], low: float, high: float) -> tuple[float, float]:
    lo = schema.get("minimum", schema.get("exclusiveMinimum", low))
    hi = schema.get("maximum", schema.get("exclusiveMaximum", max(high, lo + (high - low))))
    return float(lo), float(max(lo, hi))


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen
