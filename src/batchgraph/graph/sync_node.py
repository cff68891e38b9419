"""The graph's synchronous step: send the requests of a job's synchronous chunks one call each
(the `executors.sync` executor), writing results to the ledger as they arrive.

One step sends new calls for at most `Deps.sync_slice_seconds`, then returns, so the runner
can show progress and a job is advanced in steps like any other; a chunk is COLLECTED once
every one of its requests has a result. After a crash, the next step sends only the requests
that have none — a call that was in flight may have been paid for already (at most
`concurrency` of them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from batchgraph.deps import Deps
from batchgraph.errors import HostStopped
from batchgraph.execution import Execution
from batchgraph.executors.sync import execute
from batchgraph.graph.nodes import ledger_index, wire_id
from batchgraph.graph.state import ChunkView, JobState
from batchgraph.model import Result
from batchgraph.providers.base import WireItem
from batchgraph.store.base import ChunkRecord, ChunkStatus, JobRecord, JobStatus, Store

SYNCING = "syncing"
"""The phase a step ends in while synchronous requests are left: run the next step at once."""


def open_sync_chunks(store: Store, job_id: str) -> list[ChunkRecord]:
    """The job's synchronous chunks that still have requests to send."""
    return [
        c for c in store.list_chunks(job_id) if c.sync and c.status is not ChunkStatus.COLLECTED
    ]


class SyncStep:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.store = deps.store

    def run_sync(self, state: JobState) -> dict[str, Any]:
        """Send what the open synchronous chunks have left, for one slice of time."""
        job = self.store.get_job(state["job_id"])
        chunks = open_sync_chunks(self.store, job.id)
        stop_at = time.monotonic() + self.deps.sync_slice_seconds
        for host in dict.fromkeys(c.host or job.provider for c in chunks):
            group = [c for c in chunks if (c.host or job.provider) == host]
            asyncio.run(self._run_host(job, host, group, stop_at))
            if time.monotonic() >= stop_at:
                break
        if job.status is JobStatus.SUBMITTED:
            self.store.set_job_status(job.id, JobStatus.RUNNING)
        views: dict[str, ChunkView] = {}
        for chunk in self.store.list_chunks(job.id):
            if chunk.sync:
                views[str(chunk.chunk)] = _view(chunk)
        left = open_sync_chunks(self.store, job.id)
        return {"chunks": views, "phase": SYNCING if left else "synced"}

    async def _run_host(
        self, job: JobRecord, host: str, chunks: list[ChunkRecord], stop_at: float
    ) -> None:
        adapter = self.deps.host(job, host)
        pace = adapter.sync_pace(chunks[0].model or "")
        settings = Execution.from_spec(job.spec).sync_settings(pace)
        limiter = self.deps.limiter(job, host, settings.limiter)
        ledger = _ChunkLedger(self.store, job.id, chunks)
        client = adapter.sync_client()
        try:
            await execute(client, ledger.items(), ledger.write, settings, limiter, stop_at)
        except HostStopped as quota:
            raise quota.for_job(job.id) from None
        finally:
            await client.aclose()
            ledger.close_finished()


class _ChunkLedger:
    """Feeds a host's chunks to the executor and writes their results back, chunk by chunk."""

    def __init__(self, store: Store, job_id: str, chunks: list[ChunkRecord]) -> None:
        self.store = store
        self.job_id = job_id
        self.chunks = chunks
        self.chunk_of: dict[int, int] = {}
        """Ledger index -> chunk, for requests handed out and not yet written."""
        self.exhausted: set[int] = set()

    def items(self) -> Iterator[WireItem]:
        for chunk in self.chunks:
            if chunk.status is not ChunkStatus.SUBMITTED:
                self.store.update_chunk(
                    self.job_id, chunk.chunk, status=ChunkStatus.SUBMITTED, intent_at=time.time()
                )
            for idx, text in self.store.unanswered_stored(self.job_id, chunk.chunk):
                self.chunk_of[idx] = chunk.chunk
                yield WireItem(wire_id(idx, chunk.attempt), stored=text)
            self.exhausted.add(chunk.chunk)

    def write(self, results: list[Result]) -> None:
        """One transaction per chunk among `results` (the first report of a request wins)."""
        by_chunk: dict[int, list[tuple[int, Result]]] = {}
        for result in results:
            idx = ledger_index(result.custom_id)
            by_chunk.setdefault(self.chunk_of.pop(idx), []).append((idx, result))
        for chunk, pairs in by_chunk.items():
            self.store.record_results(self.job_id, chunk, pairs)

    def close_finished(self) -> None:
        """Mark COLLECTED each chunk whose every request was handed out and written."""
        waiting = set(self.chunk_of.values())
        for chunk in self.chunks:
            if chunk.chunk in self.exhausted and chunk.chunk not in waiting:
                self.store.update_chunk(self.job_id, chunk.chunk, status=ChunkStatus.COLLECTED)


def _view(chunk: ChunkRecord) -> ChunkView:
    return {
        "chunk": chunk.chunk,
        "attempt": chunk.attempt,
        "size": chunk.size,
        "status": chunk.status.value,
        "batch_id": None,
        "provider_status": "sync",
        "mode": chunk.mode.value,
    }
