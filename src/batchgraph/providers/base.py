"""The one interface every provider adapter implements.

An adapter turns a chunk of `WireItem`s into one provider batch, reads that batch's status as a
`BatchStatus`, streams its results as `Result`s and can cancel it. It also finds a batch by its
`BatchTag`, so that a crash between "created" and "saved" never leads to paying twice.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from batchgraph import jsoncodec
from batchgraph.model import JSON, Kind, Outcome, Request, Result
from batchgraph.providers.registry import SPECS, ProviderSpec
from batchgraph.providers.registry import (
    Caps as Caps,  # re-exported: adapters' planners read it here
)
from batchgraph.providers.settings import ProviderSettings

if TYPE_CHECKING:
    from batchgraph.providers.sync_api import HostPace, SyncClient


@dataclass(frozen=True, slots=True)
class BatchTag:
    """Names one provider batch as (job, chunk, attempt); put into metadata or custom ids."""

    job_id: str
    chunk: int
    attempt: int

    def label(self) -> str:
        """A short string usable as metadata value and as an Anthropic custom_id prefix."""
        return f"bg{self.job_id}c{self.chunk}a{self.attempt}"

    _LABEL = re.compile(r"^bg(?P<job>[A-Za-z0-9]+)c(?P<chunk>\d+)a(?P<attempt>\d+)$")

    @classmethod
    def parse(cls, label: str) -> BatchTag | None:
        match = cls._LABEL.match(label)
        if match is None:
            return None
        return cls(match["job"], int(match["chunk"]), int(match["attempt"]))


class WireItem:
    """A request as it goes into a batch: `custom_id` is ours (safe for every provider).

    Made from the `Request`, or from its stored JSON (`Request.to_json`, as the ledger keeps
    it), which is decoded only when `request` is first read: an adapter may write the wire form
    of common requests straight from the stored JSON (see `openai_wire.encode_item`).
    """

    __slots__ = ("_request", "custom_id", "stored")

    def __init__(
        self, custom_id: str, request: Request | None = None, *, stored: str | None = None
    ) -> None:
        if request is None and stored is None:
            raise TypeError("WireItem needs a request or its stored JSON")
        self.custom_id = custom_id
        self.stored = stored
        self._request = request

    @property
    def request(self) -> Request:
        if self._request is None:
            assert self.stored is not None
            self._request = Request.from_json(jsoncodec.loads(self.stored))
        return self._request

    def decoded(self) -> Request:
        """The request, decoded from its stored JSON without keeping it (unless `request`
        already did): a pass over a whole chunk then holds one decoded request at a time."""
        if self._request is not None:
            return self._request
        assert self.stored is not None
        return Request.from_json(jsoncodec.loads(self.stored))

    def __repr__(self) -> str:
        return f"WireItem({self.custom_id!r}, {self._request or self.stored!r})"


CLOCK_SLACK = timedelta(minutes=5)
"""How far our clock and a provider's may disagree when a tag lookup compares creation times."""


def aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so they compare with providers' timestamps."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LookupHints:
    """What the caller knows about the batch it is looking for."""

    size: int | None = None
    """How many requests it holds."""
    known_ids: frozenset[str] = frozenset()
    """Batches already accounted for (other chunks of the job): never the one looked for."""


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A chunk made ready for the call that creates its batch (`Provider.prepare_batch`)."""

    tag: BatchTag
    size: int
    items: Sequence[WireItem] = ()
    """The requests, for providers that send them in the create call itself."""
    file_id: str | None = None
    """The uploaded input file, for providers that read one."""
    endpoint: str = ""
    model: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


class BatchState(StrEnum):
    """One status vocabulary over the three providers' state machines."""

    PENDING = "pending"
    """Accepted, not started (OpenAI validating, Mistral QUEUED)."""
    RUNNING = "running"
    FINALIZING = "finalizing"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    """The batch as a whole was refused (e.g. OpenAI validation failed)."""
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = {BatchState.COMPLETED, BatchState.FAILED, BatchState.EXPIRED, BatchState.CANCELLED}


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """Where one provider batch stands, normalised; `raw_status` keeps the provider's word."""

    batch_id: str
    state: BatchState
    raw_status: str
    total: int
    succeeded: int
    failed: int
    errors: tuple[str, ...] = ()
    quota_refused: bool = False
    """The provider refused the whole batch for a quota that frees up as other batches end
    (OpenAI's enqueued-token limit, `token_limit_exceeded`): none of its requests was tried,
    and the same batch created later may be accepted."""

    @property
    def done(self) -> bool:
        return self.state.terminal


class Provider(ABC):
    """A provider's Batch API, built on its official SDK."""

    spec: ClassVar[ProviderSpec]
    """The registry entry this adapter serves (`registry.adapter_class` sets it per host)."""
    name: ClassVar[str]
    caps: ClassVar[Caps]
    finds_only_proven_batches: ClassVar[bool] = True
    """Whether `find_batch` returns only batches it read our tag on. Anthropic shows a batch's
    tag (inside its custom ids) only once it has ended, so a running batch it finds is a
    candidate: the caller may wait for it, but takes it as its own only when its results carry
    the tag (see `graph.nodes`)."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings

    def models(self) -> list[str] | None:
        """The model names the provider lists, asked once per adapter (`list_models`); None
        when it has no list or the list cannot be read (then the provider judges models)."""
        listed: list[str] | None = getattr(self, "_listed_models", None)
        if listed is None:
            try:
                listed = self.list_models() or []
            except Exception:  # a check that cannot run must not stop a job
                listed = []
            self._listed_models = listed
        return listed or None

    def list_models(self) -> list[str] | None:
        """Ask the provider for its models (one call, or a few pages); None: no such list."""
        return None

    @classmethod
    def kind_problem(cls, kind: Kind) -> str | None:
        """Why this provider's batches refuse every request of this kind, or None."""
        if kind is Kind.EMBEDDING and not cls.spec.features.embeddings:
            able = ", ".join(spec.name for spec in SPECS if spec.features.embeddings)
            return (
                f"{cls.spec.title} batches do not take embedding requests; send them with "
                f"--provider {able.replace(', ', ' or --provider ')}"
            )
        return None

    @classmethod
    def wire_body(cls, request: Request) -> dict[str, JSON] | None:
        """The body this provider is sent for `request`, everything the adapter adds included
        (a schema's tool, a system prompt), so its input tokens can be counted; None when
        the adapter does not say (the request's own text is counted then)."""
        return None

    @classmethod
    def prompt_overhead(cls, body: dict[str, JSON]) -> int:
        """Input tokens the provider adds around a body's text (per-message markers, a
        tool-use system prompt), by its published figures."""
        return 0

    @classmethod
    def tokenizer(cls, model: str) -> str | None:
        """The name of the offline tokenizer the provider counts `model`'s input with
        (`tokens.tokenizers`), or None when none is published."""
        return None

    counts_tokens: ClassVar[bool] = False
    """Whether the provider counts a request's input tokens itself (`count_tokens`)."""

    def count_tokens(self, bodies: Sequence[dict[str, JSON]]) -> list[int] | None:
        """Input tokens of each body, counted by the provider itself (free, nothing is run),
        or None when it offers no such count."""
        return None

    @classmethod
    def request_problem(cls, request: Request) -> str | None:
        """Why this provider would refuse the request: a feature its batches lack (from the
        registry), then the adapter's own checks (`check_request`)."""
        features = cls.spec.features
        kind_problem = cls.kind_problem(request.kind)
        if kind_problem is not None:
            return kind_problem
        if request.params and "tools" in request.params and not features.tools:
            return (
                f"field tools cannot go to {cls.spec.title}: its batches take no tools — "
                "remove them or choose another provider"
            )
        if request.output_schema is not None and not features.structured_output:
            return (
                f"{cls.spec.title} batches cannot ask for a JSON schema; drop the schema or "
                "choose another provider"
            )
        return cls.check_request(request)

    @classmethod
    def check_request(cls, request: Request) -> str | None:
        """Why this provider would refuse the request (with the fix), or None.

        Runs during validation, before anything is sent and without credentials.
        """
        return None

    @classmethod
    @abstractmethod
    def wire_size(cls, item: WireItem) -> int:
        """Bytes the item takes in the batch (a JSONL line or a JSON array element).

        A class method: jobs are planned while they are written, before any client exists.
        """

    @classmethod
    def wire_size_bound(cls, stored_bytes: int, custom_id_bytes: int) -> int | None:
        """At least `wire_size` of any request whose stored JSON (`Request.to_json`, compact,
        UTF-8) takes `stored_bytes`, sent with a custom_id of `custom_id_bytes`; or None when
        the provider cannot bound it without building the item (the planner then measures it).

        Lets the planner size a request without decoding it or encoding its wire form.
        """
        return None

    def create_batch(self, items: Sequence[WireItem], tag: BatchTag) -> str:
        """Create one batch holding `items`, tagged with `tag`; return its id.

        Never retried blindly after a timeout: callers use `find_batch` first.
        """
        return self.create_prepared(self.prepare_batch(items, tag))

    def prepare_batch(self, items: Sequence[WireItem], tag: BatchTag) -> PreparedBatch:
        """Everything before the call that creates the batch: encode the items and, where the
        provider takes a file, upload it. Nothing here costs money, so it may run ahead of
        the intent being recorded; by default the items are kept for the create call."""
        return PreparedBatch(tag, len(items), items=items)

    @abstractmethod
    def create_prepared(self, prepared: PreparedBatch) -> str:
        """Create the batch `prepare_batch` made ready; return its id (see `create_batch`)."""

    def discard_prepared(self, prepared: PreparedBatch) -> None:
        """Remove what `prepare_batch` left at the provider for a batch that will not be
        created from it (an uploaded file); nothing by default."""
        return None

    @abstractmethod
    def check_access(self) -> None:
        """One cheap authenticated read, so a job is refused before it is stored when its
        provider cannot be reached or refuses the key. Raises `ProviderCallError` for a refusal
        and `ProviderUnavailable` for a host out of reach; a rate limit or a 5xx passes (the
        host answered, and later calls will be retried)."""

    @abstractmethod
    def find_batch(
        self, tag: BatchTag, created_after: datetime, hints: LookupHints | None = None
    ) -> str | None:
        """The id of a batch created with `tag` since `created_after`, if there is one.

        `hints` narrow the search where a provider cannot read the tag of a running batch.
        """

    @abstractmethod
    def status(self, batch_id: str) -> BatchStatus:
        """The batch's state and counts."""

    @abstractmethod
    def results(self, batch_id: str) -> Iterator[Result]:
        """Stream the batch's results as the provider reports them (any order)."""

    @abstractmethod
    def cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch; finished requests stay collectable."""

    def sync_client(self) -> SyncClient:
        """A client for the provider's synchronous API, one call per request (see
        `providers.sync_api`); made anew for each event loop that uses it."""
        from batchgraph.errors import ConfigError

        raise ConfigError(f"{self.name} has no synchronous API in batchgraph")

    def sync_pace(self, model: str) -> HostPace:
        """How hard synchronous calls to `model` may press this host by default."""
        from batchgraph.providers.sync_api import HostPace

        return HostPace()


class Accounting:
    """Yields each expected request exactly once and counts the lines that are not ours.

    First reports win and the unreported come out MISSING. Duplicated lines and lines whose
    custom_id the batch never held are dropped; so is every line whose tag is not `tag` (when
    one is given): a result that belongs to another batch is never taken for ours, whatever its
    custom_id. `foreign` counts those lines, for the job's report.
    """

    def __init__(self, expected: Iterable[str], batch_id: str, tag: BatchTag | None = None):
        self.pending = set(expected)
        self.batch_id = batch_id
        self.label = None if tag is None else tag.label()
        self.foreign = 0

    def ours(self, result: Result) -> bool:
        """Whether the line carries the tag of the batch being collected."""
        return self.label is None or result.tag == self.label

    def account(self, results: Iterable[Result]) -> Iterator[Result]:
        pending = self.pending
        for result in results:
            if not self.ours(result):
                self.foreign += 1
            elif result.custom_id in pending:
                pending.discard(result.custom_id)
                yield result
        for custom_id in sorted(pending):
            yield Result(custom_id=custom_id, outcome=Outcome.MISSING, batch_id=self.batch_id)
        pending.clear()


def account_for(
    results: Iterable[Result], expected: Iterable[str], batch_id: str, tag: BatchTag | None = None
) -> Iterator[Result]:
    """`Accounting.account` for callers that need no count of foreign lines."""
    return Accounting(expected, batch_id, tag).account(results)
