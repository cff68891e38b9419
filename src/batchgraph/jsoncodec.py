"""JSON for the hot paths: orjson, which parses and writes several times faster than `json`.

Every request passes through JSON several times (ledger, upload file, result line, results
file). Writing is exact whichever library does it: what orjson refuses (integers beyond 64
bits, keys that are not strings) is written by `json`, compact with non-ASCII kept as is, as
`json.dumps(..., ensure_ascii=False, separators=(",", ":"))` would; NaN and infinities, which
JSON lacks, become null.

Reading with orjson is only for provider result lines, whose numbers (token counts, timestamps,
vectors) fit its types: it reads integers beyond 64 bits as floats, so JSON shaped by users —
inputs, stored requests, the model's answers — is read with `json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson


def loads_provider_line(data: str | bytes) -> Any:
    """One provider result line; what orjson refuses (NaN, lone surrogates) is read by `json`,
    which also raises the error for a line neither accepts."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
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
