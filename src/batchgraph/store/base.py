"""The store: jobs, the per-request ledger and results, and the LangGraph checkpointer.

One interface, two backends: SQLite (default, one file) and PostgreSQL (several workers).
Everything that grows with the number of requests lives here, never in graph state.

The ledger has one row per input request, keyed by (job_id, idx) where idx is the request's
0-based position in the input. `str(idx)` is the custom_id sent to providers, so results map
back to inputs without trusting any order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, Self

from batchgraph.model import JSON, Request, Result, Usage

if TYPE_CHECKING:
    # LangGraph takes a third of a second to import; `status` and `list` never need it.
    from langgraph.checkpoint.base import BaseCheckpointSaver


class JobStatus(StrEnum):
    """A job's life, as `batchgraph list` shows it."""

    SUBMITTED = "submitted"
    """Validated and written to the ledger; no batch yet."""
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class LedgerStatus(StrEnum):
    """Where one request stands. The last five are outcomes (see `model.Outcome`)."""

    PENDING = "pending"
    """Waiting to be put into a chunk (first time, or again after a retryable failure)."""
    QUEUED = "queued"
    """In a chunk that was planned, submitted or is running."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    MISSING = "missing"


class ChunkStatus(StrEnum):
    """One chunk = one provider batch."""

    PLANNED = "planned"
    SUBMITTING = "submitting"
    """Intent recorded; the provider may or may not have the batch (look the tag up)."""
    SUBMITTED = "submitted"
    """The provider has it; `batch_id` is saved."""
    COLLECTED = "collected"
    """Terminal at the provider and every result written to the ledger."""


class ChunkMode(StrEnum):
    """How a chunk's requests are sent."""

    BATCH = "batch"
    """As one provider batch (at the batch price)."""
    SYNC = "sync"
    """One synchronous call per request (at the synchronous price): hosts without a Batch
    API, `--mode sync`, and what a deadline's hedge finishes."""


class Reuse(StrEnum):
    """How a request got its answer without being sent (the ledger's `reused`)."""

    CACHE = "cache"
    """From the result cache: an earlier job's answer to the same request."""
    DUPLICATE = "duplicate"
    """From an earlier row of the same job asking the same: that row was sent, once."""


@dataclass(frozen=True, slots=True)
class ReusedAnswers:
    """The requests of one model answered without being sent, and the tokens their answers
    cost when they were paid for (what reusing them saved)."""

    reuse: Reuse
    model: str
    requests: int
    usage: Usage


@dataclass(slots=True)
class JobRecord:
    """A job's settings and status. `spec` holds the options it was submitted with (no keys)."""

    id: str
    name: str
    provider: str
    spec: dict[str, JSON]
    status: JobStatus = JobStatus.SUBMITTED
    total: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    report: dict[str, JSON] | None = None


@dataclass(slots=True)
class FlowRecord:
    """A user's graph run over many inputs (`batchgraph.flows`): its options, where it stands
    (`progress`: the wave and its jobs) and, once every thread has ended, its report."""

    id: str
    name: str
    spec: dict[str, JSON]
    status: str = "running"
    progress: dict[str, JSON] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    report: dict[str, JSON] | None = None


def flow_input_key(flow_id: str) -> str:
    """Where a flow's input copy is kept among the jobs' copies (no job id has a dash)."""
    return f"flow-{flow_id}"


@dataclass(slots=True)
class ChunkRecord:
    """One chunk of a job: which round (`attempt`), its batch, and its last known status."""

    job_id: str
    chunk: int
    attempt: int
    status: ChunkStatus = ChunkStatus.PLANNED
    size: int = 0
    batch_id: str | None = None
    intent_at: float | None = None
    provider_status: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    provisional: bool = False
    """`batch_id` came from a lookup that could not read the batch's tag (an Anthropic batch
    still running): the batch may be another job's, so it is never cancelled on our behalf,
    and it becomes ours only when its results carry our tag."""
    mode: ChunkMode = ChunkMode.BATCH
    host: str | None = None
    """The provider its requests go to, when not the job's own (a hedge on another host)."""

    @property
    def sync(self) -> bool:
        return self.mode is ChunkMode.SYNC


@dataclass(slots=True)
class LedgerRow:
    """One request and its latest outcome, as `results` writes it."""

    idx: int
    request: Request
    status: LedgerStatus
    attempt: int
    chunk: int | None
    result: Result | None

    @property
    def request_id(self) -> str:
        return self.request.id

    @property
    def request_model(self) -> str:
        return self.request.model


class Placement(Protocol):
    """Plans chunks while a job is written: `place` names each stored request's chunk, and
    `chunks` lists them once every request is placed (see `planning.FirstRound`)."""

    def place(self, idx: int, request: Request, stored: str) -> int: ...

    def chunks(self, job_id: str) -> list[ChunkRecord]: ...


class Store(ABC):
    """Durable state of all jobs. Methods are synchronous; each commits before returning."""

    where: str = "this database"
    """The database, as messages name it (a SQLite path, a PostgreSQL host; never a password)."""

    # -- jobs -------------------------------------------------------------------------------
    @abstractmethod
    def create_job(
        self,
        job: JobRecord,
        requests: Iterable[Request],
        placement: Placement | None = None,
        input_copy: Iterable[bytes] = (),
        ready: Callable[[int], None] | None = None,
    ) -> int:
        """Write the job and its ledger (idx 0..n-1 in input order) in one transaction.

        In the same transaction, unless the spec says `"cache": false`, rows the result cache
        answers become SUCCEEDED (`reused = cache`) and rows asking what an earlier row of the
        job asks wait for its answer (QUEUED in no chunk, `reused = duplicate`): neither is in
        a chunk, and chunks left empty are dropped. `ready`, when given, is then called with
        the number of rows left to send; raising from it stores nothing.

        Without `placement` every request is PENDING; with it, each is QUEUED (attempt 1) in
        the chunk `placement` names, and its chunks are written PLANNED in the same
        transaction. `input_copy` is the input file's bytes in parts, kept for `input_copy()`
        (a table input's columns go into its results). Returns the request count. Either all
        of it is stored or nothing is.
        Refuses (with `ConfigError`) a spec holding anything that looks like a credential, and
        (with `ValueError`) a job id that exists already.
        """

    @abstractmethod
    def create_job_stored(
        self,
        job: JobRecord,
        stored: Iterable[tuple[str, int]],
        chunks: Callable[[], list[ChunkRecord]],
        input_copy: Iterable[bytes] = (),
        ready: Callable[[int], None] | None = None,
    ) -> int:
        """`create_job` for requests already stored as text (`Request.to_json`, compact) and
        placed in first-round chunks, given as (text, chunk) pairs, for example by a worker
        process (`batchgraph.intake`). `chunks` is called once `stored` is exhausted."""

    @abstractmethod
    def input_copy(self, job_id: str) -> Iterator[bytes]:
        """The parts of the input copy `create_job` kept, in order (none when it kept none);
        read one part at a time, so a large input never sits in memory."""

    @abstractmethod
    def get_job(self, job_id: str) -> JobRecord:
        """The job, or `JobNotFound`."""

    @abstractmethod
    def list_jobs(self) -> list[JobRecord]:
        """All jobs, newest first."""

    @abstractmethod
    def find_job_by_key(self, key: str) -> JobRecord | None:
        """The newest job not cancelled whose spec holds `job_key == key`, if any: how a
        second submit of the same input finds the first job instead of paying again."""

    @abstractmethod
    def set_job_status(
        self, job_id: str, status: JobStatus, report: dict[str, JSON] | None = None
    ) -> None:
        """Set the status, and the report when one is given (None keeps the stored one)."""

    # -- flows ------------------------------------------------------------------------------
    @abstractmethod
    def save_flow(self, flow: FlowRecord, input_copy: Iterable[bytes] = ()) -> None:
        """Write the flow, new or changed (its `updated_at` is set to now).

        `input_copy` (the parts of its input file, read one at a time) is stored with a new
        flow in the same transaction: a flow reads its threads' initial states from the store,
        never from memory or from a file that may have moved. Raising while the parts are read
        stores nothing.
        """

    def flow_input(self, flow_id: str) -> Iterator[bytes]:
        """The parts of the input copy `save_flow` kept for the flow, in order."""
        return self.input_copy(flow_input_key(flow_id))

    @abstractmethod
    def get_flow(self, flow_id: str) -> FlowRecord:
        """The flow, or `FlowNotFound` naming it and the database."""

    @abstractmethod
    def list_flows(self) -> list[FlowRecord]:
        """All flows, newest first."""

    # -- chunks -----------------------------------------------------------------------------
    @abstractmethod
    def pending_stored(self, job_id: str) -> Iterator[tuple[int, str]]:
        """PENDING rows in idx order, streamed, each request as its compact JSON text
        (`Request.to_json`, UTF-8 kept): the planner reads them without building requests."""

    @abstractmethod
    def add_chunk(self, chunk: ChunkRecord, indices: Sequence[int]) -> None:
        """Create the chunk and move its rows to QUEUED with attempt+1, in one transaction.

        Raises `ValueError` and changes nothing when the chunk number exists already or any of
        the rows is not PENDING.
        """

    @abstractmethod
    def list_chunks(self, job_id: str) -> list[ChunkRecord]:
        """Every chunk of the job, by chunk number."""

    @abstractmethod
    def get_chunk(self, job_id: str, chunk: int) -> ChunkRecord:
        """The chunk; `JobNotFound` for an unknown job, `LookupError` for an unknown chunk."""

    @abstractmethod
    def update_chunk(self, job_id: str, chunk: int, **changes: Any) -> ChunkRecord:
        """Change the named fields of a chunk (status, batch_id, intent_at, …); commit."""

    @abstractmethod
    def hand_over(self, job_id: str, chunk: int, into: ChunkRecord) -> int:
        """Move the rows still QUEUED in `chunk` into the new chunk `into` and mark `chunk`
        COLLECTED, in one transaction; return how many rows moved.

        A deadline's hedge: what a batch has not answered goes to a synchronous chunk. The
        moved rows keep their attempt; `into` is written with their count as its size, and
        not at all when no row is left to move. A result reported later for `chunk` finds
        none of the moved rows there, so it changes nothing (see `record_results`).
        Raises `ValueError` and changes nothing when `into`'s chunk number exists already.
        """

    @abstractmethod
    def chunk_stored(self, job_id: str, chunk: int) -> Iterator[tuple[int, str]]:
        """The rows in a chunk, in idx order, streamed, each request as the store keeps it
        (`Request.to_json` as compact JSON): the upload encodes most without decoding them."""

    @abstractmethod
    def unanswered_stored(self, job_id: str, chunk: int) -> Iterator[tuple[int, str]]:
        """The rows of a chunk still QUEUED (no result yet), in idx order, streamed, each
        request as its stored text: what a synchronous run of the chunk has left to send."""

    @abstractmethod
    def chunk_indices(self, job_id: str, chunk: int) -> Iterator[int]:
        """The idx of every row in a chunk, in order, streamed (no request is decoded)."""

    # -- results ----------------------------------------------------------------------------
    @abstractmethod
    def record_results(
        self, job_id: str, chunk: int, results: Iterable[tuple[int, Result]]
    ) -> Usage:
        """Write each result to its ledger row (status = outcome), in bounded transactions.

        Only rows still QUEUED in this chunk are changed, so replaying a collection is harmless,
        and the first report of a request wins. Then the chunk's usage is set to the sum of its
        rows' tokens, so a collection cut short and replayed counts every token once. Returns
        the chunk's usage.
        """

    @abstractmethod
    def requeue(self, job_id: str, statuses: set[LedgerStatus], max_attempts: int) -> int:
        """Move rows with one of `statuses` and attempt < max_attempts back to PENDING.

        Failed rows are moved only when their error is retryable. Moved rows lose their chunk
        and their last result (the next collection writes a new one). Only FAILED, EXPIRED,
        MISSING and CANCELLED may be asked for. Returns how many moved.
        """

    @abstractmethod
    def settle_chunk(self, job_id: str, chunk: int, status: LedgerStatus) -> int:
        """Give every row still QUEUED in the chunk the final `status`; return how many.

        `status` is EXPIRED, MISSING or CANCELLED: for a chunk that will never report those
        rows (cancelled before submission, or its batch gone). Rows already settled stay.
        """

    @abstractmethod
    def cancel_pending(self, job_id: str) -> int:
        """Mark every PENDING row CANCELLED (a cancelled job sends nothing more); return how many.

        Rows QUEUED in chunks are left alone: their batches may still report results.
        """

    @abstractmethod
    def counts(self, job_id: str) -> dict[LedgerStatus, int]:
        """How many rows are in each status (every status present, zeros included)."""

    @abstractmethod
    def counts_by_chunk(self, job_id: str) -> dict[int | None, dict[LedgerStatus, int]]:
        """How many rows of each chunk (None: in none) are in each status (non-zero only)."""

    @abstractmethod
    def ledger(self, job_id: str) -> Iterator[LedgerRow]:
        """Every row with its latest result, in input order, streamed."""

    @abstractmethod
    def result_records(self, job_id: str) -> Iterator[dict[str, JSON]]:
        """Every row as its flat results record (`io.records.result_record`), in input order,
        streamed: what the results file needs, without building requests and results."""

    # -- the result cache ---------------------------------------------------------------------
    # A new job takes its answers from the cache while it is written (`create_job`), unless
    # its spec says `"cache": false`; `record_results` adds every answer it writes.

    @abstractmethod
    def answer_duplicates(self, job_id: str) -> int:
        """Give every duplicate row still waiting the state and answer of the row it repeats,
        where that row has left QUEUED and PENDING; return how many were answered. Called once
        every request sent has its final state (a retryable failure is not final before)."""

    @abstractmethod
    def reused_answers(self, job_id: str) -> list[ReusedAnswers]:
        """The job's requests answered from the cache or as a duplicate (duplicates still
        waiting for their answer are not counted), per kind and model."""

    @abstractmethod
    def prune_cache(self, before: float) -> int:
        """Forget cached answers stored before `before` (Unix time); return how many. Jobs and
        their results stay: only later jobs stop reusing them."""

    @abstractmethod
    def answered_models(self, provider: str) -> set[str]:
        """The models `provider` has answered requests of in this store's jobs: known to exist
        there without asking for its list of models."""

    @abstractmethod
    def cache_size(self) -> int:
        """How many answers the cache holds."""

    @abstractmethod
    def known_keys(self, keys: Sequence[bytes]) -> set[bytes]:
        """Those of the request keys `keys` (`store.cache_key`) the cache holds an answer for:
        what a dry run expects it to answer."""

    # -- coordination -----------------------------------------------------------------------

    @abstractmethod
    def lock(self, job_id: str) -> AbstractContextManager[None]:
        """Hold the job's lock for the block; raise `JobBusy` at once if another holder has it."""

    @abstractmethod
    def checkpointer(self) -> BaseCheckpointSaver[Any]:
        """The LangGraph checkpointer living in the same database."""

    @abstractmethod
    def close(self) -> None:
        """Close the connections (the checkpointer's too); the store is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
