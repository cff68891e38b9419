"""Finding duplicate ids in memory that does not hold the ids.

Pass one keeps a 64-bit hash per id in `array('Q')`s (8 bytes a line), grouped by the hash's top
byte so that each group can be checked with a small set (1/256 of the ids at a time). Only lines
whose hash occurs twice are looked at again, with their real ids, so a hash collision between
different ids is never reported as a duplicate.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator

from batchgraph.errors import InputProblem

_MASK = (1 << 64) - 1
_GROUP_SHIFT = 56


def id_hash(request_id: str) -> int:
    # Python's string hash is a 64-bit SipHash, stable within one process, which is all the
    # two passes need.
    return hash(request_id) & _MASK


class IdHashes:
    """The hashes of every id seen in pass one."""

    def __init__(self) -> None:
        self._groups = [array("Q") for _ in range(1 << (64 - _GROUP_SHIFT))]
        self._count = 0

    def add(self, request_id: str) -> None:
        value = id_hash(request_id)
        self._groups[value >> _GROUP_SHIFT].append(value)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def repeated(self) -> set[int]:
        """Hash values seen more than once (a real duplicate or, rarely, a collision)."""
        found: set[int] = set()
        for group in self._groups:
            if len(set(group)) == len(group):
                continue
            seen: set[int] = set()
            for value in group:
                if value in seen:
                    found.add(value)
                seen.add(value)
        return found


def duplicate_problems(
    ids: Iterable[tuple[int, str]], repeated: set[int]
) -> Iterator[InputProblem]:
    """Re-read (line, id) pairs and name each line whose id was already used, and where."""
    first_line: dict[str, int] = {}
    for line, request_id in ids:
        if id_hash(request_id) not in repeated:
            continue
        earlier = first_line.setdefault(request_id, line)
        if earlier != line:
            yield InputProblem(
                line,
                f"duplicate id {request_id!r} (also on line {earlier})",
                "give every line its own id",
            )
