"""Which unsent chunks a tick may send now, under a provider quota on work in flight.

OpenAI limits the prompt tokens a model may have enqueued at once. A batch created past that
limit is accepted and then fails with `token_limit_exceeded`: none of its requests was tried,
so the chunk is held (`HELD_KEY`, not an attempt of its requests) and sent again once another
of the job's batches has ended (or none is in flight). `--max-enqueued-tokens` keeps a
job under a quota it knows: a chunk is not sent while its prompt tokens and those of the
job's batches in flight would pass it — unless nothing is in flight, or it could never go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from batchgraph.store.base import ChunkRecord, ChunkStatus, JobRecord

HELD_KEY = "held_until_collected_over"
"""Chunk count set on a chunk refused for the quota: how many of the job's chunks were
collected then. It waits until more are, i.e. until another batch has ended."""
TOKENS_KEY = "prompt_tokens"
"""Chunk count: the estimated prompt tokens of the chunk's requests."""

Tokens = Callable[[ChunkRecord], int]
"""A chunk's estimated prompt tokens."""


def sendable(job: JobRecord, chunks: Sequence[ChunkRecord], tokens: Tokens) -> list[int]:
    """The unsent chunks to send now, in chunk order. A chunk whose create may have been sent
    (SUBMITTING) is always among them: its batch must be looked up."""
    in_flight = [c for c in chunks if c.status is ChunkStatus.SUBMITTED]
    collected = sum(1 for c in chunks if c.status is ChunkStatus.COLLECTED)
    limit = job.spec.get("max_enqueued_tokens")
    enqueued = sum(tokens(c) for c in in_flight) if limit else 0
    chosen: list[int] = []
    for chunk in chunks:
        if chunk.status is ChunkStatus.SUBMITTING:
            chosen.append(chunk.chunk)
            continue
        if chunk.status is not ChunkStatus.PLANNED:
            continue
        held = chunk.counts.get(HELD_KEY)
        if held is not None and in_flight and collected <= held:
            continue
        if limit:
            needed = tokens(chunk)
            if (in_flight or chosen) and enqueued + needed > int(limit):
                continue
            enqueued += needed
        chosen.append(chunk.chunk)
    return chosen
