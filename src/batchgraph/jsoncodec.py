"""JSON for the hot paths: orjson, which parses and writes several times faster than `json`,
wherever it gives the same values, and the standard library wherever it would not.

Every request passes through JSON several times (input line, ledger, upload file, result line,
results file). Values never depend on which library ran:

- Reading gives exactly `json.loads`'s value or raises `json`'s own error. orjson reads integers
  beyond 64 bits as floats, so a text holding 19 digits in a row is read by `json`, as is any
  text orjson refuses (NaN, Infinity, lone surrogates, a byte-order mark, malformed JSON).
- Writing is compact with non-ASCII kept as is, as `json.dumps(..., ensure_ascii=False,
  separators=(",", ":"))` writes it; what orjson refuses to write (integers beyond 64 bits, keys
  that are not strings) is written by `json`. NaN and infinities, which JSON lacks, become null.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
"""19 digits in a row: maybe an integer beyond 64 bits (or digits inside a string)."""


def loads(data: str | bytes) -> Any:
    """`json.loads(data)`, faster."""
    try:
        raw = data.encode() if isinstance(data, str) else data
    except UnicodeEncodeError:  # a lone surrogate
        return json.loads(data)
    if _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return dumps_bytes(value).decode()


def dumps_bytes(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON as UTF-8; `default` turns values JSON has no type for into ones it has."""
    try:
        return orjson.dumps(value, default=default)
    except TypeError:  # orjson.JSONEncodeError: a big integer, a non-string key, …
        encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=default)
        return encoder.encode(value).encode()
