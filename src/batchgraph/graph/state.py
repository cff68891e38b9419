"""Graph state: small, JSON-like, and growing with the number of chunks, never requests."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

ChunkView = dict[str, Any]
"""What the state shows of one chunk: number, attempt, status, batch id, provider status."""


def merge_chunks(
    old: dict[str, ChunkView] | None, new: dict[str, ChunkView] | None
) -> dict[str, ChunkView]:
    """Reducer: each update refines the named chunks and leaves the others as they were."""
    merged = dict(old or {})
    for key, view in (new or {}).items():
        merged[key] = {**merged.get(key, {}), **view}
    return merged


class JobState(TypedDict, total=False):
    """One job's thread. The store holds the requests and results; this holds the tickets."""

    job_id: str
    chunks: Annotated[dict[str, ChunkView], merge_chunks]
    phase: str
    counts: dict[str, int]
    report: dict[str, Any] | None


class ChunkTask(TypedDict):
    """What a `Send` hands to a per-chunk node."""

    job_id: str
    chunk: int
