"""Progress as custom stream events: what changed in the store since the thread last looked.

A tick's node compares the chunks it last mirrored into state with the store's (which a CLI
or a worker may have moved on meanwhile) and writes one event per change to LangGraph's
stream writer, so `client.runs.stream(..., stream_mode="custom")` shows a job's progress:

    {"event": "submitted", "chunk": 0, "batch_id": "batch_…", "requests": 100}
    {"event": "status", "chunk": 0, "batch_id": "batch_…", "status": "in_progress"}
    {"event": "collected", "chunk": 0, "batch_id": "batch_…", "counts": {...}}
    {"event": "progress", "job_id": "…", "counts": {"succeeded": 100, ...}}
    {"event": "cost", "job_id": "…", "batch_usd": 0.01, "sync_usd": 0.02}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from batchgraph.graph.state import ChunkView

Event = dict[str, Any]


def chunk_events(before: dict[str, ChunkView], after: dict[str, ChunkView]) -> Iterator[Event]:
    """One event per batch created, per provider status seen, per batch collected."""
    for key, now in sorted(after.items(), key=lambda item: int(item[0])):
        was = before.get(key, {})
        base = {"chunk": now["chunk"], "attempt": now["attempt"], "batch_id": now["batch_id"]}
        if now["batch_id"] and now["batch_id"] != was.get("batch_id"):
            yield {"event": "submitted", **base, "requests": now["size"]}
        if now["provider_status"] and now["provider_status"] != was.get("provider_status"):
            yield {"event": "status", **base, "status": now["provider_status"]}
        if now["status"] == "collected" and was.get("status") != "collected":
            yield {"event": "collected", **base, "counts": now.get("counts", {})}


def job_events(
    job_id: str, before: dict[str, Any], counts: dict[str, int], cost: dict[str, Any]
) -> Iterator[Event]:
    """The ledger's counts and the cost so far, when they changed."""
    if counts != before.get("counts"):
        yield {"event": "progress", "job_id": job_id, "counts": counts}
    if cost != before.get("cost"):
        yield {"event": "cost", "job_id": job_id, **cost}
