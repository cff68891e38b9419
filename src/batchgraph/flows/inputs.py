"""A flow's inputs: one thread's initial state per JSONL line, checked, kept and read back.

The file is read line by line and never held whole: it is checked once (every line, before
anything is stored), copied into the store in parts with the flow, and read back from that copy
one state at a time each time the threads are moved on. Memory stays flat in the number of
threads, and a flow never depends on its input file again (it may be moved or edited).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from batchgraph.errors import ConfigError

PART_BYTES = 4 << 20
"""The copy is stored in parts of about this size (whole lines each)."""


def check_inputs(path: Path) -> tuple[int, str]:
    """The number of states in the file and the SHA-256 of its bytes; a bad line raises
    `ConfigError` naming it and the fix."""
    digest = hashlib.sha256()
    count = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            digest.update(raw)
            if parse_state(raw, path, number) is not None:
                count += 1
    return count, digest.hexdigest()


def input_parts(path: Path, sha256: str) -> Iterator[bytes]:
    """The file's bytes in parts of whole lines, for the store; raises if the file is no
    longer the one `check_inputs` read (the store then keeps nothing)."""
    digest = hashlib.sha256()
    part = bytearray()
    with path.open("rb") as handle:
        for raw in handle:
            digest.update(raw)
            part += raw
            if len(part) >= PART_BYTES:
                yield bytes(part)
                part.clear()
    if digest.hexdigest() != sha256:
        raise ConfigError(f"{path} changed while it was read — run the command again")
    if part:
        yield bytes(part)


def stored_states(parts: Iterable[bytes], source: str) -> Iterator[dict[str, Any]]:
    """The initial states of the input copy's parts, in input order, one at a time."""
    number = 0
    for part in parts:
        for raw in part.splitlines():
            number += 1
            state = parse_state(raw, Path(source), number)
            if state is not None:
                yield state


def parse_state(raw: bytes, path: Path, number: int) -> dict[str, Any] | None:
    """Line `number` of `path` as a thread's initial state (None for a blank line)."""
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8"
        raise ConfigError(
            f"{path}: line {number}: malformed JSON ({reason}) — write one JSON object per "
            "line, each a thread's initial state"
        ) from err
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: line {number}: a thread's initial state must be an object {{...}}"
        )
    return value
