"""A deadline's hedge: batches still running near the deadline give way to synchronous calls.

    deadline − margin reached, a batch chunk not collected
      │ PLANNED (nothing sent) ──────────────────────────► the chunk becomes synchronous
      │ SUBMITTING ─ tag looked up ─ none: as PLANNED; found: as SUBMITTED
      │ SUBMITTED:
      │   1. the decision is committed (`HEDGE_KEY` in the chunk's counts)
      │   2. the batch is cancelled (unless it ended, is cancelling, or may not be ours)
      │   3. ended: what finished is written (first report wins)
      │      still running or cancelling: wait for it, until half the margin is left
      │   4. one transaction: every unanswered request moves to a new synchronous chunk
      │      (host: `--hedge-provider` or the job's provider), the batch chunk is collected
      ▼
    `run_sync` sends the synchronous chunks (`graph.sync_node`)

Every step can be repeated after a crash: a cancel of a batch that ended changes nothing, a
result written again is ignored, and the move is one transaction. Nothing synchronous is sent
before the requests are in their synchronous chunk. A batch that never ends (no cancel, or a
cancel that does not finish in time) is waited for until half the margin is left, then left
alone: its chunk no longer holds the moved requests, so a result it reports later changes
nothing and costs nothing in the report.
"""

from __future__ import annotations

import logging
from typing import Any

from batchgraph.deps import Deps
from batchgraph.errors import ProviderCallError, ProviderUnavailable, ResultsGone
from batchgraph.execution import Execution
from batchgraph.graph.nodes import HEDGE_KEY, JobNodes, chunk_view, wire_id
from batchgraph.graph.pacing import HELD_KEY
from batchgraph.graph.state import ChunkView, JobState
from batchgraph.model import Outcome
from batchgraph.providers.base import Accounting, BatchState, BatchStatus, BatchTag, Provider
from batchgraph.store.base import ChunkMode, ChunkRecord, ChunkStatus, JobRecord

log = logging.getLogger(__name__)

DECIDED = 1
"""`HEDGE_KEY` once a batch chunk's hedge is decided (committed before anything is sent)."""
CANCEL_SENT = 2
"""`HEDGE_KEY` once its batch was asked to stop."""
CANCEL_REFUSED = 3
"""`HEDGE_KEY` once the provider refused to stop it: it may still end by itself."""

HEDGING = "hedging"
"""The phase a step ends in while a cancelled batch is still being waited for."""

FINISHED = (Outcome.SUCCEEDED, Outcome.FAILED)
"""What a hedged batch's results are kept for: requests that ran. Those it reports cancelled,
expired or not at all go to the synchronous API instead."""


def hedge_due(deps: Deps, job: JobRecord, chunks: list[ChunkRecord]) -> bool:
    """Whether the job's deadline calls for a hedge now: its hedge time has come and a batch
    chunk is not collected yet."""
    execution = Execution.from_spec(job.spec)
    if not execution.hedge_due(deps.clock()):
        return False
    return any(_still_batch(c) for c in chunks)


def _still_batch(chunk: ChunkRecord) -> bool:
    """A batch chunk not collected yet: what a hedge takes over."""
    return not chunk.sync and chunk.status is not ChunkStatus.COLLECTED


class HedgeStep:
    """The `hedge` node, over the job nodes' lookups and recording."""

    def __init__(self, deps: Deps, nodes: JobNodes) -> None:
        self.deps = deps
        self.store = deps.store
        self.nodes = nodes

    def hedge(self, state: JobState) -> dict[str, Any]:
        """Hedge every batch chunk not collected yet, one at a time, in chunk order."""
        job = self.store.get_job(state["job_id"])
        execution = Execution.from_spec(job.spec)
        wait_until = execution.cancel_wait_until()
        give_up = wait_until is None or self.deps.clock() >= wait_until
        views: dict[str, ChunkView] = {}
        waiting = False
        for chunk in self.store.list_chunks(job.id):
            if chunk.sync or chunk.status is ChunkStatus.COLLECTED:
                continue
            saved = self._hedge_chunk(job, chunk, execution.hedge_provider, give_up)
            for each in saved:
                views[str(each.chunk)] = chunk_view(each)
            waiting = waiting or any(_still_batch(c) for c in saved)
        self.nodes.uploads.cancel()  # a chunk prepared ahead will not be sent as a batch
        return {"chunks": views, "phase": HEDGING if waiting else "hedged"}

    def _hedge_chunk(
        self, job: JobRecord, chunk: ChunkRecord, host: str | None, give_up: bool
    ) -> list[ChunkRecord]:
        if chunk.status is ChunkStatus.SUBMITTING:
            found = self.nodes.find_earlier_create(chunk)
            if found is None:  # never created: nothing of it was sent
                return [self._to_sync(chunk, host)]
            chunk = found
        if chunk.status is ChunkStatus.PLANNED:
            return [self._to_sync(chunk, host)]
        if not chunk.counts.get(HEDGE_KEY):
            chunk = self.store.update_chunk(
                job.id, chunk.chunk, counts={**chunk.counts, HEDGE_KEY: DECIDED}
            )
        provider = self.deps.provider(job)
        status = self._cancelled(provider, chunk)
        if status is not None and not status.state.terminal and not give_up:
            return [self.store.update_chunk(job.id, chunk.chunk, provider_status=status.raw_status)]
        if status is not None and status.state.terminal:
            self._keep_finished(job, chunk, provider, status)
        return self._move_unanswered(job, chunk, host, status)

    def _cancelled(self, provider: Provider, chunk: ChunkRecord) -> BatchStatus | None:
        """Cancel the chunk's batch unless it ended or its cancel was sent (or refused); return
        where it stands then, or None for a batch that may not be ours (never stopped, never
        waited for). A batch the provider would not stop is waited for like a cancelled one:
        it may still end by itself before the hedge stops waiting."""
        assert chunk.batch_id is not None
        status = provider.status(chunk.batch_id)
        if status.state.terminal or status.state is BatchState.CANCELLING:
            return status
        if chunk.counts.get(HEDGE_KEY) in (CANCEL_SENT, CANCEL_REFUSED):
            return status  # Gemini has no cancelling state: it reads running until it stops
        if chunk.provisional:  # a candidate may be another job's batch: never stop it
            return None
        outcome = CANCEL_SENT
        try:
            provider.cancel(chunk.batch_id)
        except ProviderUnavailable:
            raise  # the next step asks again
        except ProviderCallError as error:
            log.warning("job %s chunk %d: the batch cannot be cancelled (%s); what it reports "
                        "after the hedge is ignored", chunk.job_id, chunk.chunk, error)  # fmt: skip
            outcome = CANCEL_REFUSED
        counts = {**chunk.counts, HEDGE_KEY: outcome}
        self.store.update_chunk(chunk.job_id, chunk.chunk, counts=counts)
        chunk.counts = counts
        return provider.status(chunk.batch_id)

    def _keep_finished(
        self, job: JobRecord, chunk: ChunkRecord, provider: Provider, status: BatchStatus
    ) -> None:
        """Write the results of the requests the ended batch ran (first report wins)."""
        assert chunk.batch_id is not None
        if status.state is BatchState.FAILED or status.quota_refused or chunk.provisional:
            return  # nothing ran (or nothing can prove the batch ours): all go synchronous
        indices = self.store.chunk_indices(job.id, chunk.chunk)
        expected = [wire_id(idx, chunk.attempt) for idx in indices]
        tag = BatchTag(job.id, chunk.chunk, chunk.attempt)
        accounting = Accounting(expected, chunk.batch_id, tag)
        try:
            finished = (
                result
                for result in accounting.account(provider.results(chunk.batch_id))
                if result.outcome in FINISHED
            )
            self.nodes.record(job.id, chunk.chunk, finished)
        except ResultsGone as gone:
            log.warning("job %s chunk %d: %s; sent synchronously", job.id, chunk.chunk, gone)

    def _move_unanswered(
        self, job: JobRecord, chunk: ChunkRecord, host: str | None, status: BatchStatus | None
    ) -> list[ChunkRecord]:
        """The chunk's unanswered requests into a new synchronous chunk; the chunk collected."""
        number = max(c.chunk for c in self.store.list_chunks(job.id)) + 1
        into = ChunkRecord(
            job_id=job.id,
            chunk=number,
            attempt=chunk.attempt,
            model=chunk.model,
            mode=ChunkMode.SYNC,
            host=host,
        )
        moved = self.store.hand_over(job.id, chunk.chunk, into)
        raw = status.raw_status if status is not None else chunk.provider_status
        saved = self.store.update_chunk(job.id, chunk.chunk, provider_status=raw)
        if not moved:
            return [saved]
        return [saved, self.store.get_chunk(job.id, number)]

    def _to_sync(self, chunk: ChunkRecord, host: str | None) -> ChunkRecord:
        """A chunk that sent nothing runs synchronously instead."""
        counts = {k: v for k, v in chunk.counts.items() if k != HELD_KEY}
        return self.store.update_chunk(
            chunk.job_id,
            chunk.chunk,
            status=ChunkStatus.PLANNED,
            intent_at=None,
            mode=ChunkMode.SYNC,
            host=host,
            counts=counts,
        )
