"""Finding duplicate ids in memory that does not hold the ids.

Pass one keeps a 64-bit hash per id in an `array('Q')` (8 bytes a line). Sorting the hashes
shows which values occur twice; only lines whose hash is one of those are looked at again, with
their real ids, so a hash collision between different ids is never reported as a duplicate.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator

from batchgraph.errors import InputProblem

_MASK = (1 << 64) - 1


def id_hash(request_id: str) -> int:
    # Python's string hash is a 64-bit SipHash, stable within one process, which is all the
    # two passes need.
    return hash(request_id) & _MASK


class IdHashes:
    """The hashes of every id seen in pass one."""

    def __init__(self) -> None:
        self._hashes = array("Q")

    def add(self, request_id: str) -> None:
        self._hashes.append(id_hash(request_id))

    def __len__(self) -> int:
        return len(self._hashes)

    def repeated(self) -> set[int]:
        """Hash values seen more than once (a real duplicate or, rarely, a collision)."""
        if len(self._hashes) < 2:
            return set()
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.Array.from_buffers(
            pa.uint64(), len(self._hashes), [None, pa.py_buffer(self._hashes)]
        )
        ordered = values.sort()
        same = pc.equal(ordered[1:], ordered[:-1])
        return set(pc.unique(ordered[1:].filter(same)).to_pylist())


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
