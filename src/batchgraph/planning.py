"""Split a job's requests into chunks that fit one provider batch each.

The first round is planned while the job is written (`FirstRound`, called by the store for each
request it stores), so a new job's ledger rows are born in their chunks and planning costs no
pass of its own. Later rounds (retries) plan the requests found PENDING (`plan_stored`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from batchgraph.model import Kind, Request
from batchgraph.providers.base import Caps, Provider, WireItem
from batchgraph.store.base import ChunkMode, ChunkRecord
from batchgraph.store.rows import request_from_text, request_head

SUFFIX_ROOM = 4
"""Bytes kept for a round suffix on the custom_id (`17` becomes `17_2`)."""
_KINDS: dict[object, Kind] = {kind.value: kind for kind in Kind}

Sizer = Provider | type[Provider]
"""Sizing needs only the provider's class: caps and wire sizes are class-level."""


@dataclass(slots=True)
class PlannedChunk:
    """One future batch; all its requests share one model (one model per batch)."""

    number: int
    model: str
    count: int = 0
    size_bytes: int = 0
    indices: array[int] = field(default_factory=lambda: array("q"))
    """Ledger positions, when the placer keeps them (8 bytes per request)."""

    def fits(self, extra_bytes: int, caps: Caps) -> bool:
        return self.count < caps.max_requests and self.size_bytes + extra_bytes <= caps.max_bytes

    def record(
        self,
        job_id: str,
        attempt: int,
        mode: ChunkMode = ChunkMode.BATCH,
        host: str | None = None,
    ) -> ChunkRecord:
        return ChunkRecord(
            job_id=job_id,
            chunk=self.number,
            attempt=attempt,
            size=self.count,
            model=self.model,
            mode=mode,
            host=host,
        )


class ChunkPlacer:
    """Puts requests into chunks one at a time, grouped by model and kind, closing a chunk when
    the next request would break a cap. Chunks are numbered from `first` as they open."""

    def __init__(self, caps: Caps, first: int = 0, *, keep_indices: bool = True) -> None:
        self.caps = caps
        self._next = first
        self._keep = keep_indices
        self._open: dict[tuple[str, Kind], PlannedChunk] = {}
        self._all: list[PlannedChunk] = []

    def place(self, idx: int, model: str, kind: Kind, size: int) -> int:
        """Add one request of `size` wire bytes; return its chunk's number."""
        key = (model, kind)  # one model and one endpoint per batch
        chunk = self._open.get(key)
        if chunk is None or not chunk.fits(size, self.caps):
            chunk = self._open[key] = PlannedChunk(self._next, model)
            self._all.append(chunk)
            self._next += 1
        chunk.count += 1
        chunk.size_bytes += size
        if self._keep:
            chunk.indices.append(idx)
        return chunk.number

    @property
    def chunks(self) -> list[PlannedChunk]:
        """Every chunk so far, in number order."""
        return list(self._all)


class FirstRound:
    """A new job's first-round chunks, planned as the store writes each request."""

    def __init__(
        self, provider: Sizer, batch_size: int | None = None, mode: ChunkMode = ChunkMode.BATCH
    ) -> None:
        self._provider = provider
        self._mode = mode
        self._placer = ChunkPlacer(capped(provider.caps, batch_size), keep_indices=False)

    def place(self, idx: int, request: Request, stored: str) -> int:
        """The chunk of the request at `idx`, stored as the text `stored`."""
        size = _bound(self._provider, idx, stored)
        if size is None:
            size = _measured(self._provider, idx, request)
        return self._placer.place(idx, request.model, request.kind, size)

    def chunks(self, job_id: str) -> list[ChunkRecord]:
        return [planned.record(job_id, 1, self._mode) for planned in self._placer.chunks]


def capped(caps: Caps, batch_size: int | None) -> Caps:
    """The provider's caps, with `batch_size` lowering its request cap."""
    if batch_size is None:
        return caps
    return Caps(min(caps.max_requests, batch_size), caps.max_bytes)


def plan_chunks(
    pending: Iterable[tuple[int, Request]],
    provider: Sizer,
    batch_size: int | None = None,
    first: int = 0,
) -> list[PlannedChunk]:
    """Group requests by model and kind under the caps; memory holds 8 bytes per request."""
    sized = (
        (idx, request.model, request.kind, _measured(provider, idx, request))
        for idx, request in pending
    )
    return _group(sized, provider, batch_size, first)


def plan_stored(
    pending: Iterable[tuple[int, str]],
    provider: Sizer,
    batch_size: int | None = None,
    first: int = 0,
) -> list[PlannedChunk]:
    """`plan_chunks` over requests as the store keeps them (`Request.to_json` as compact JSON).

    When the provider bounds an item's size from its stored JSON (`Provider.wire_size_bound`),
    a request is sized by that bound and never built or encoded; otherwise it is measured.
    """
    return _group(_sized_stored(pending, provider), provider, batch_size, first)


def _sized_stored(
    pending: Iterable[tuple[int, str]], provider: Sizer
) -> Iterator[tuple[int, str, Kind, int]]:
    for idx, text in pending:
        size = _bound(provider, idx, text)
        if size is None:
            request = request_from_text(text)
            yield idx, request.model, request.kind, _measured(provider, idx, request)
        else:
            _, model, kind = request_head(text)
            yield idx, model, _KINDS.get(kind) or Kind(kind), size


def _bound(provider: Sizer, idx: int, stored: str) -> int | None:
    size = len(stored) if stored.isascii() else len(stored.encode())
    return provider.wire_size_bound(size, len(str(idx)) + SUFFIX_ROOM)


def _measured(provider: Sizer, idx: int, request: Request) -> int:
    return provider.wire_size(WireItem(str(idx), request)) + SUFFIX_ROOM


def _group(
    sized: Iterable[tuple[int, str, Kind, int]], provider: Sizer, batch_size: int | None, first: int
) -> list[PlannedChunk]:
    placer = ChunkPlacer(capped(provider.caps, batch_size), first)
    for idx, model, kind, size in sized:
        placer.place(idx, model, kind, size)
    return placer.chunks
