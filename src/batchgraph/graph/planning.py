"""Split a job's pending requests into chunks that fit one provider batch each."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from batchgraph.model import Kind, Request
from batchgraph.providers.base import Caps, Provider, WireItem
from batchgraph.store.rows import request_from_text, request_head

SUFFIX_ROOM = 4
"""Bytes kept for a round suffix on the custom_id (`17` becomes `17_2`)."""
_KINDS: dict[object, Kind] = {kind.value: kind for kind in Kind}


@dataclass(slots=True)
class PlannedChunk:
    """Ledger positions of one future batch; all share one model (one model per batch)."""

    model: str
    indices: array[int] = field(default_factory=lambda: array("q"))
    size_bytes: int = 0

    def fits(self, extra_bytes: int, caps: Caps) -> bool:
        return len(self.indices) < caps.max_requests and (
            self.size_bytes + extra_bytes <= caps.max_bytes
        )


def plan_chunks(
    pending: Iterable[tuple[int, Request]], provider: Provider, batch_size: int | None = None
) -> list[PlannedChunk]:
    """Group requests by model and kind, closing a chunk when the next would break a cap.

    `batch_size` lowers the provider's request cap. Memory holds one integer per request
    (8 bytes), not the requests themselves.
    """
    sized = (
        (idx, request.model, request.kind, _measured(provider, idx, request))
        for idx, request in pending
    )
    return _group(sized, provider, batch_size)


def plan_stored(
    pending: Iterable[tuple[int, str]], provider: Provider, batch_size: int | None = None
) -> list[PlannedChunk]:
    """`plan_chunks` over requests as the store keeps them (`Request.to_json` as compact JSON).

    When the provider bounds an item's size from its stored JSON (`Provider.wire_size_bound`),
    a request is sized by that bound and never built or encoded; otherwise it is measured.
    """
    return _group(_sized_stored(pending, provider), provider, batch_size)


def _sized_stored(
    pending: Iterable[tuple[int, str]], provider: Provider
) -> Iterator[tuple[int, str, Kind, int]]:
    for idx, text in pending:
        stored = len(text) if text.isascii() else len(text.encode())
        size = provider.wire_size_bound(stored, len(str(idx)) + SUFFIX_ROOM)
        if size is None:
            request = request_from_text(text)
            yield idx, request.model, request.kind, _measured(provider, idx, request)
        else:
            _, model, kind = request_head(text)
            yield idx, model, _KINDS.get(kind) or Kind(kind), size


def _measured(provider: Provider, idx: int, request: Request) -> int:
    return provider.wire_size(WireItem(str(idx), request)) + SUFFIX_ROOM


def _group(
    sized: Iterable[tuple[int, str, Kind, int]], provider: Provider, batch_size: int | None
) -> list[PlannedChunk]:
    caps = provider.caps
    if batch_size is not None:
        caps = Caps(min(caps.max_requests, batch_size), caps.max_bytes)
    open_chunks: dict[tuple[str, Kind], PlannedChunk] = {}
    closed: list[PlannedChunk] = []
    for idx, model, kind, size in sized:
        key = (model, kind)  # one model and one endpoint per batch
        chunk = open_chunks.get(key)
        if chunk is None or not chunk.fits(size, caps):
            if chunk is not None:
                closed.append(chunk)
            chunk = open_chunks[key] = PlannedChunk(model)
        chunk.indices.append(idx)
        chunk.size_bytes += size
    closed.extend(open_chunks.values())
    closed.sort(key=lambda c: c.indices[0])
    return closed
