"""The graph's nodes: small steps that call the provider and write to the store.

The store is the truth; every node first reads where its chunk stands there, so running a node
again after a crash repeats nothing that was already done — above all, no batch is created
twice: the intent is committed before the provider is called, and a chunk found in the
SUBMITTING state is looked up by its tag before anything new is created.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from batchgraph import jsoncodec
from batchgraph.deps import Deps
from batchgraph.errors import ResultsGone
from batchgraph.execution import Execution
from batchgraph.graph.ahead import Ahead
from batchgraph.graph.pacing import HELD_KEY, TOKENS_KEY
from batchgraph.graph.state import ChunkTask, ChunkView, JobState
from batchgraph.io.reading import estimate_input_tokens
from batchgraph.model import Outcome, ProviderError, Request, Result
from batchgraph.planning import plan_stored
from batchgraph.providers.base import (
    Accounting,
    BatchState,
    BatchStatus,
    BatchTag,
    LookupHints,
    PreparedBatch,
    Provider,
    WireItem,
)
from batchgraph.report import build_report
from batchgraph.store.base import (
    ChunkRecord,
    ChunkStatus,
    JobRecord,
    JobStatus,
    LedgerStatus,
)

log = logging.getLogger(__name__)

LOOKUP_SKEW_SECONDS = 600.0
"""How far before the recorded intent a tag lookup searches (clock skew, slow creates)."""

RETRY_STATUSES = {LedgerStatus.FAILED, LedgerStatus.EXPIRED, LedgerStatus.MISSING}


def wire_id(idx: int, attempt: int) -> str:
    """The custom_id of a request in a batch: its ledger position, plus the round after the first.

    A retry carries a new id, so a result can never be mistaken for an earlier round's.
    """
    return str(idx) if attempt <= 1 else f"{idx}_{attempt}"


def ledger_index(custom_id: str) -> int:
    """The ledger position a custom_id from `wire_id` stands for."""
    return int(custom_id.split("_", 1)[0])


def chunk_view(chunk: ChunkRecord, state: BatchState | None = None) -> ChunkView:
    """The small picture of a chunk that graph state carries."""
    view: ChunkView = {
        "chunk": chunk.chunk,
        "attempt": chunk.attempt,
        "size": chunk.size,
        "status": chunk.status.value,
        "batch_id": chunk.batch_id,
        "provider_status": chunk.provider_status,
    }
    if state is not None:
        view["state"] = state.value
    return view


class JobNodes:
    """The node functions, bound to their dependencies."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.store = deps.store
        self.statuses: Ahead[tuple[Provider, str], BatchStatus] = Ahead()
        """Batch statuses asked for ahead, by (adapter, batch id)."""
        self.uploads: Ahead[tuple[Provider, BatchTag], PreparedBatch] = Ahead(_discard_upload)
        """Chunks prepared ahead, by (adapter, tag)."""

    def plan(self, state: JobState) -> dict[str, Any]:
        """Put every PENDING request into a chunk under the provider's caps (a retry round;
        the first round was planned when the job was written)."""
        job = self.store.get_job(state["job_id"])
        existing = self.store.list_chunks(job.id)
        attempt = max((c.attempt for c in existing), default=0) + 1
        views: dict[str, ChunkView] = {}
        pending = self.store.pending_stored(job.id)
        provider = self.deps.provider_class(job)
        batch_size = job.spec.get("batch_size")
        mode, host = Execution.from_spec(job.spec).chunk_mode(self.deps.clock())
        # Chunks the result cache emptied were dropped when the job was written: numbers may
        # have gaps, and the next one follows the highest.
        first = max((c.chunk for c in existing), default=-1) + 1
        for planned in plan_stored(pending, provider, batch_size, first=first):
            record = planned.record(job.id, attempt, mode)
            record.host = host
            self.store.add_chunk(record, planned.indices)
            views[str(record.chunk)] = chunk_view(record)
        return {"chunks": views, "phase": "submitting"}

    def submit_chunk(self, task: ChunkTask) -> dict[str, Any]:
        """Create the chunk's batch exactly once, saving its id the moment it exists."""
        job = self.store.get_job(task["job_id"])
        chunk = self.store.get_chunk(job.id, task["chunk"])
        if chunk.sync or chunk.status not in (ChunkStatus.PLANNED, ChunkStatus.SUBMITTING):
            return {}
        provider = self.deps.provider(job)
        tag = BatchTag(job.id, chunk.chunk, chunk.attempt)
        found = self.find_earlier_create(chunk)
        if found is not None:
            return {"chunks": {str(chunk.chunk): chunk_view(found)}}
        prepared = self.uploads.take((provider, tag), self._preparation(provider, chunk))
        try:
            # The intent is recorded after the upload, which costs nothing: a chunk whose
            # upload failed is still PLANNED, known to have sent nothing.
            self.store.update_chunk(
                job.id, chunk.chunk, status=ChunkStatus.SUBMITTING, intent_at=time.time()
            )
            following = self._next_chunk(job.id, chunk.chunk, ChunkStatus.PLANNED)
            if following is not None:
                next_tag = BatchTag(job.id, following.chunk, following.attempt)
                self.uploads.start((provider, next_tag), self._preparation(provider, following))
            batch_id = provider.create_prepared(prepared)
        except BaseException:
            self.uploads.cancel()  # the tick ends: the next chunk is prepared again later
            raise
        saved = self.store.update_chunk(
            job.id, chunk.chunk, status=ChunkStatus.SUBMITTED, batch_id=batch_id
        )
        if job.status is JobStatus.SUBMITTED:
            self.store.set_job_status(job.id, JobStatus.RUNNING)
        return {"chunks": {str(chunk.chunk): chunk_view(saved)}}

    def _preparation(self, provider: Provider, chunk: ChunkRecord) -> Callable[[], PreparedBatch]:
        """Reads the chunk's requests as they go on the wire and prepares its batch."""

        def prepare() -> PreparedBatch:
            items = [
                WireItem(wire_id(idx, chunk.attempt), stored=text)
                for idx, text in self.store.chunk_stored(chunk.job_id, chunk.chunk)
            ]
            return provider.prepare_batch(items, BatchTag(chunk.job_id, chunk.chunk, chunk.attempt))

        return prepare

    def find_earlier_create(self, chunk: ChunkRecord) -> ChunkRecord | None:
        """After a crash between "create" and "save", the batch the provider already has.

        Returns the chunk as SUBMITTED with that batch's id, or None when there is no intent on
        record or the provider has no batch with the chunk's tag.
        """
        if chunk.status is not ChunkStatus.SUBMITTING or chunk.intent_at is None:
            return None
        job = self.store.get_job(chunk.job_id)
        tag = BatchTag(job.id, chunk.chunk, chunk.attempt)
        since = datetime.fromtimestamp(chunk.intent_at - LOOKUP_SKEW_SECONDS, UTC)
        known = frozenset(c.batch_id for c in self.store.list_chunks(job.id) if c.batch_id)
        provider = self.deps.provider(job)
        found = provider.find_batch(tag, since, LookupHints(chunk.size, known))
        if found is None:
            return None
        return self.store.update_chunk(
            job.id,
            chunk.chunk,
            status=ChunkStatus.SUBMITTED,
            batch_id=found,
            provisional=not provider.finds_only_proven_batches,
        )

    def cancel_job(self, job_id: str) -> None:
        """Stop everything: cancel running batches, and settle what was never sent as CANCELLED.

        Finished results stay collectable; later ticks collect them and report.
        """
        job = self.store.get_job(job_id)
        self.store.set_job_status(job_id, JobStatus.CANCELLED)
        self.store.cancel_pending(job_id)
        for chunk in self.store.list_chunks(job_id):
            # Only a chunk that may have reached the provider needs its client (and key): a
            # job that sent nothing is cancelled without either.
            if chunk.status is ChunkStatus.SUBMITTING:
                chunk = self.find_earlier_create(chunk) or chunk
            if chunk.status is ChunkStatus.SUBMITTED and chunk.batch_id is not None:
                if not chunk.provisional:  # a candidate may be another job's: never stop it
                    self.deps.provider(job).cancel(chunk.batch_id)
            elif chunk.status is not ChunkStatus.COLLECTED:
                self.store.settle_chunk(job_id, chunk.chunk, LedgerStatus.CANCELLED)
                self.store.update_chunk(job_id, chunk.chunk, status=ChunkStatus.COLLECTED)

    def collect_chunk(self, task: ChunkTask) -> dict[str, Any]:
        """Ask where the chunk's batch stands; once it has ended, write every result to the
        ledger, the unreported ones as MISSING.

        The next submitted chunk's status is asked for in the background meanwhile (`Ahead`),
        so the provider's work on that batch overlaps the writing of this one.
        """
        job = self.store.get_job(task["job_id"])
        chunk = self.store.get_chunk(job.id, task["chunk"])
        if chunk.status is not ChunkStatus.SUBMITTED or chunk.batch_id is None:
            return {}
        if chunk.counts.get(HEDGE_KEY):
            return {}  # its hedge collects it (`graph.hedge`)
        provider = self.deps.provider(job)
        batch_id = chunk.batch_id
        try:
            status = self.statuses.take((provider, batch_id), lambda: provider.status(batch_id))
            following = self._next_chunk(job.id, chunk.chunk, ChunkStatus.SUBMITTED)
            if following is not None and following.batch_id is not None:
                next_id = following.batch_id
                self.statuses.start((provider, next_id), lambda: provider.status(next_id))
            if not status.state.terminal:
                saved = self.store.update_chunk(
                    job.id,
                    chunk.chunk,
                    provider_status=status.raw_status,
                    counts=_counts(status, chunk),
                )
                return {"chunks": {str(chunk.chunk): chunk_view(saved, status.state)}}
            if status.quota_refused:
                return self._hold(job, chunk, status)
            expected = [
                wire_id(idx, chunk.attempt) for idx in self.store.chunk_indices(job.id, chunk.chunk)
            ]
            tag = BatchTag(job.id, chunk.chunk, chunk.attempt)
            accounting = Accounting(expected, batch_id, tag)
            if status.state is BatchState.FAILED and not chunk.provisional:
                self.record(job.id, chunk.chunk, _batch_failure(expected, status))
            else:
                try:
                    stream = provider.results(batch_id)
                    if chunk.provisional:
                        confirmed = _confirmed(stream, accounting)
                        if confirmed is None:
                            return self._not_ours(job, chunk, status)
                        stream = confirmed
                    self.record(job.id, chunk.chunk, accounting.account(stream))
                except ResultsGone as gone:
                    if chunk.provisional:  # nothing can prove it ours now: look up or create
                        return self._not_ours(job, chunk, status)
                    # What was read stays; the rest fail with the reason and are sent again.
                    self.record(job.id, chunk.chunk, _results_gone(expected, batch_id, gone))
        except BaseException:
            self.statuses.cancel()  # the tick ends: the next status is asked for again later
            raise
        saved = self.store.update_chunk(
            job.id,
            chunk.chunk,
            status=ChunkStatus.COLLECTED,
            provider_status=status.raw_status,
            counts=_counts(status, chunk, foreign=accounting.foreign),
            provisional=False,
        )
        return {"chunks": {str(chunk.chunk): chunk_view(saved, status.state)}}

    def record(self, job_id: str, chunk: int, results: Iterable[Result]) -> None:
        self.store.record_results(job_id, chunk, ((ledger_index(r.custom_id), r) for r in results))

    def _hold(self, job: JobRecord, chunk: ChunkRecord, status: BatchStatus) -> dict[str, Any]:
        """The batch was refused for a quota on work in flight: none of its requests was
        tried, so nothing is recorded and no attempt counted. The chunk goes back to PLANNED,
        held until another of the job's batches has ended (see `graph.pacing`)."""
        collected = sum(
            1 for c in self.store.list_chunks(job.id) if c.status is ChunkStatus.COLLECTED
        )
        log.info("job %s chunk %d: %s; sent again later", job.id, chunk.chunk, status.errors)
        saved = self.store.update_chunk(
            job.id,
            chunk.chunk,
            status=ChunkStatus.PLANNED,
            batch_id=None,
            intent_at=None,
            provider_status=status.raw_status,
            counts={**_kept_counts(chunk), HELD_KEY: collected},
        )
        return {"chunks": {str(chunk.chunk): chunk_view(saved, status.state)}}

    def prompt_tokens(self, chunk: ChunkRecord) -> int:
        """The chunk's estimated prompt tokens, counted once and kept in its counts."""
        known = chunk.counts.get(TOKENS_KEY)
        if known is not None:
            return int(known)
        tokens = sum(
            estimate_input_tokens(Request.from_json(jsoncodec.loads(text)))
            for _, text in self.store.chunk_stored(chunk.job_id, chunk.chunk)
        )
        counts = {**chunk.counts, TOKENS_KEY: tokens}
        self.store.update_chunk(chunk.job_id, chunk.chunk, counts=counts)
        chunk.counts = counts
        return tokens

    def _not_ours(self, job: JobRecord, chunk: ChunkRecord, status: BatchStatus) -> dict[str, Any]:
        """A candidate batch ended and its results carry another tag: it was never ours.

        The chunk goes back to SUBMITTING with its intent kept, so the next tick looks its tag
        up again (our own batch may be another candidate) and creates the batch only when
        nothing is found; a cancelled job settles the chunk as CANCELLED instead.
        """
        counts = {**_foreign_counts(chunk), "foreign_batches": _foreign_batches(chunk) + 1}
        cancelled = job.status is JobStatus.CANCELLED
        if cancelled:
            self.store.settle_chunk(job.id, chunk.chunk, LedgerStatus.CANCELLED)
        saved = self.store.update_chunk(
            job.id,
            chunk.chunk,
            status=ChunkStatus.COLLECTED if cancelled else ChunkStatus.SUBMITTING,
            batch_id=None,
            provider_status=None,
            provisional=False,
            counts=counts,
        )
        return {"chunks": {str(chunk.chunk): chunk_view(saved, status.state)}}

    def _next_chunk(self, job_id: str, after: int, status: ChunkStatus) -> ChunkRecord | None:
        """The first chunk after chunk `after` in `status`: the next one a node will take."""
        for chunk in self.store.list_chunks(job_id):
            if chunk.chunk > after and chunk.status is status:
                return chunk
        return None

    def settle(self, state: JobState) -> dict[str, Any]:
        """Once every batch is collected, send retryable failures again or finish: then each
        duplicate request gets the answer of the one request that was sent for it."""
        job = self.store.get_job(state["job_id"])
        chunks = self.store.list_chunks(job.id)
        if any(c.status is not ChunkStatus.COLLECTED for c in chunks):
            return {"phase": "waiting"}
        if job.status is not JobStatus.CANCELLED:
            max_attempts = int(job.spec.get("max_attempts", 3))
            if self.store.requeue(job.id, RETRY_STATUSES, max_attempts):
                return {"phase": "retrying"}
        # Every request sent has its final state: its duplicates take it too.
        self.store.answer_duplicates(job.id)
        return {"phase": "reporting"}

    def report(self, state: JobState) -> dict[str, Any]:
        """Count every request's final state and the cost; mark the job done."""
        job = self.store.get_job(state["job_id"])
        report = build_report(self.store, job)
        final = JobStatus.CANCELLED if job.status is JobStatus.CANCELLED else JobStatus.DONE
        self.store.set_job_status(job.id, final, report)
        return {"phase": "done", "report": report, "counts": report["counts"]}


def _discard_upload(key: tuple[Provider, BatchTag], prepared: PreparedBatch) -> None:
    provider, _ = key
    provider.discard_prepared(prepared)


HEDGE_KEY = "hedged"
"""Chunk count set once a deadline's hedge took the chunk's batch over (see `graph.hedge`):
from then on only the hedge collects it."""

FOREIGN_KEYS = ("foreign", "foreign_batches")
"""Chunk counts kept across polls: result lines that carried another batch's tag, and
candidate batches that turned out to be another job's (see `build_report`)."""


def _foreign_counts(chunk: ChunkRecord) -> dict[str, int]:
    return {key: chunk.counts[key] for key in FOREIGN_KEYS if chunk.counts.get(key)}


def _kept_counts(chunk: ChunkRecord) -> dict[str, int]:
    """The counts a chunk keeps across polls: the foreign ones and its prompt tokens."""
    kept = _foreign_counts(chunk)
    if TOKENS_KEY in chunk.counts:
        kept[TOKENS_KEY] = chunk.counts[TOKENS_KEY]
    return kept


def _foreign_batches(chunk: ChunkRecord) -> int:
    return int(chunk.counts.get("foreign_batches", 0))


def _counts(status: BatchStatus, chunk: ChunkRecord, foreign: int = 0) -> dict[str, int]:
    counts = {"total": status.total, "succeeded": status.succeeded, "failed": status.failed}
    counts.update(_kept_counts(chunk))
    if foreign:
        counts["foreign"] = counts.get("foreign", 0) + foreign
    return counts


def _confirmed(results: Iterator[Result], accounting: Accounting) -> Iterator[Result] | None:
    """`results` again when their first line carries our tag, else None (not our batch).

    Every line of a batch carries the tag it was created with, so the first one decides.
    """
    first = next(results, None)
    if first is None or not accounting.ours(first):
        return None
    return itertools.chain((first,), results)


def _results_gone(expected: list[str], batch_id: str, gone: ResultsGone) -> Iterator[Result]:
    """Requests whose results can no longer be read fail, retryably, with the reason (the
    store keeps any that were read before, as it writes only rows still queued)."""
    error = ProviderError(code="results_unavailable", message=str(gone), retryable=True)
    for custom_id in expected:
        yield Result(custom_id, Outcome.FAILED, batch_id, error=error)


def _batch_failure(expected: list[str], status: BatchStatus) -> Iterator[Result]:
    """A batch refused as a whole fails each of its requests with the batch's errors."""
    message = "; ".join(status.errors) or f"the batch ended {status.raw_status}"
    error = ProviderError(code="batch_failed", message=message, raw=list(status.errors))
    for custom_id in expected:
        yield Result(custom_id, Outcome.FAILED, status.batch_id, error=error)
