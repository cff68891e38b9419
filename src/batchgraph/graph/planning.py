"""Split a job's pending requests into chunks that fit one provider batch each."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from batchgraph.model import Kind, Request
from batchgraph.providers.base import Caps, Provider, WireItem


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
    caps = provider.caps
    if batch_size is not None:
        caps = Caps(min(caps.max_requests, batch_size), caps.max_bytes)
    open_chunks: dict[tuple[str, Kind], PlannedChunk] = {}
    closed: list[PlannedChunk] = []
    for idx, request in pending:
        size = provider.wire_size(WireItem(str(idx), request)) + 4  # room for a round suffix
        key = (request.model, request.kind)  # one model and one endpoint per batch
        chunk = open_chunks.get(key)
        if chunk is None or not chunk.fits(size, caps):
            if chunk is not None:
                closed.append(chunk)
            chunk = open_chunks[key] = PlannedChunk(request.model)
        chunk.indices.append(idx)
        chunk.size_bytes += size
    closed.extend(open_chunks.values())
    closed.sort(key=lambda c: c.indices[0])
    return closed
