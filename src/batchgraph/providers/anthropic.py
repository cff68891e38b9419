"""Anthropic Message Batches, through the official `anthropic` SDK.

Requests go inline in the create call (no files). Anthropic batches take no metadata, so the
batch tag rides in every custom_id (`<tag label>-<our custom_id>`, see `anthropic_wire`) and is
stripped again when results are read.

Reads (status, results, list, cancel) are retried by the SDK on 429, 5xx and 529 with backoff
and `Retry-After`; creating a batch is sent exactly once, because a create that timed out may
still have made a batch: the caller looks the tag up with `find_batch` before trying again.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import anthropic
import httpx2
from anthropic.types.messages import MessageBatch

from batchgraph import jsoncodec
from batchgraph.errors import ProviderCallError, ProviderUnavailable, ResultsGone
from batchgraph.model import JSON, Request, Result
from batchgraph.providers import anthropic_wire as wire
from batchgraph.providers.base import (
    CLOCK_SLACK,
    BatchState,
    BatchStatus,
    BatchTag,
    Caps,
    LookupHints,
    PreparedBatch,
    WireItem,
    aware,
)
from batchgraph.providers.registry import ProviderSpec, spec_for
from batchgraph.providers.sdk import SdkProvider, newest_since
from batchgraph.providers.settings import ProviderSettings
from batchgraph.providers.sync_api import SyncClient

READ_RETRIES = 4
"""SDK retries for reads: each is safe to repeat, and batch polling should ride out blips."""

CREATE_TIMEOUT = timedelta(minutes=10)
"""How long one create call may take before we give up waiting for its answer."""

CREATE_WINDOW = timedelta(minutes=30)
"""A running batch created later than this after `find_batch`'s `created_after` is not ours:
room for a whole create call, and for callers that move `created_after` back for safety."""

TAG_ROOM = 64
"""Bytes reserved per item for the tag prefix, which `wire_size` cannot know (ids are ≤64)."""


class AnthropicProvider(SdkProvider):
    """Anthropic's Message Batches API."""

    sdk_errors = (anthropic.AnthropicError,)
    unreachable_errors = (anthropic.APIConnectionError,)

    spec: ClassVar[ProviderSpec] = spec_for("anthropic")
    name: ClassVar[str] = spec.name
    caps: ClassVar[Caps] = spec.caps
    finds_only_proven_batches: ClassVar[bool] = False
    counts_tokens: ClassVar[bool] = True

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self._client = anthropic.Anthropic(
            api_key=settings.api_key, base_url=settings.base_url, max_retries=READ_RETRIES
        )

    @classmethod
    def check_request(cls, request: Request) -> str | None:
        return wire.check_request(request)

    @classmethod
    def wire_body(cls, request: Request) -> dict[str, JSON] | None:
        return wire.message_params(request)

    @classmethod
    def prompt_overhead(cls, body: dict[str, JSON]) -> int:
        return wire.tool_prompt_tokens(body)

    def count_tokens(self, bodies: Sequence[dict[str, JSON]]) -> list[int] | None:
        """`messages.count_tokens` for each body (Anthropic's tokenizer is not published)."""
        counts = []
        for body in bodies:
            fields = {key: body[key] for key in wire.COUNTED_FIELDS if key in body}
            counted = self.call("count tokens", None, self._client.messages.count_tokens, **fields)
            counts.append(counted.input_tokens)
        return counts

    @classmethod
    def wire_size(cls, item: WireItem) -> int:
        return wire.item_size(wire.request_item(item)) + TAG_ROOM

    def create_prepared(self, prepared: PreparedBatch) -> str:
        """Encode the requests and send them in the create call (Anthropic takes no file)."""
        tag = prepared.tag
        requests = [wire.request_item(item, tag) for item in prepared.items]
        for request in requests:
            if not wire.CUSTOM_ID.match(request["custom_id"]):
                raise ProviderCallError(
                    self.name,
                    f"custom_id {request['custom_id']!r} breaks Anthropic's rule "
                    f"{wire.CUSTOM_ID.pattern}; use a shorter job id or custom ids of letters, "
                    "digits, _ and -",
                )
        once = self._client.with_options(max_retries=0, timeout=CREATE_TIMEOUT.total_seconds())
        try:
            batch = once.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        except anthropic.APIConnectionError as err:
            raise ProviderUnavailable(
                self.name,
                f"no answer to the create call ({describe(err)}); the batch may exist all the "
                f"same, so look it up by its tag {tag.label()} before creating it again",
            ) from err
        except anthropic.AnthropicError as err:
            raise self.failure("create a batch", None, err) from err
        return batch.id

    def find_batch(
        self, tag: BatchTag, created_after: datetime, hints: LookupHints | None = None
    ) -> str | None:
        """The batch holding `tag`'s custom ids, created since `created_after`, if any.

        Custom ids are only readable in results, so only an ended batch can be proved ours (its
        first result line carries the tag). Otherwise this returns a candidate: the earliest
        running batch created within `CREATE_WINDOW` after `created_after` — the window in
        which our own interrupted create call could have made it — that is not one of
        `hints.known_ids` and holds `hints.size` requests. A candidate may be another client's
        batch (another job of the same key whose create failed at the same moment), so the
        caller waits for it and takes it as its own only once its ended results carry the tag
        (`finds_only_proven_batches` is False); if they do not, it looks again, and creates
        the batch anew when nothing is left to wait for.
        """
        hints = hints or LookupHints()
        since = aware(created_after) - CLOCK_SLACK
        until = aware(created_after) + CREATE_WINDOW + CLOCK_SLACK
        running: list[MessageBatch] = []
        for batch in self._list_since(since):
            if batch.id in hints.known_ids:
                continue
            if batch.processing_status == "ended":
                if self._carries_tag(batch, tag):
                    return batch.id
            elif aware(batch.created_at) <= until and _holds(batch, hints.size):
                running.append(batch)
        if not running:
            return None
        return min(running, key=lambda batch: aware(batch.created_at)).id

    def list_models(self) -> list[str] | None:
        return [model.id for model in self._client.models.list(limit=1000)]

    def status(self, batch_id: str) -> BatchStatus:
        batch = self.call(
            "read the batch",
            batch_id,
            lambda: self._client.messages.batches.retrieve(batch_id),
        )
        return batch_status(batch)

    def results(self, batch_id: str) -> Iterator[Result]:
        batch = self.call(
            "read the batch", batch_id, lambda: self._client.messages.batches.retrieve(batch_id)
        )
        if batch.archived_at is not None:
            gone = f"its results were archived at {batch.archived_at:%Y-%m-%d %H:%M} UTC"
            raise ResultsGone(self.name, gone, batch_id)
        lines = self._stream_results(batch_id)
        try:
            for line in lines:
                yield wire.parse_result_line(line, batch_id)
        finally:
            lines.close()

    def probe(self) -> None:
        self._client.messages.batches.list(limit=1)

    def request_cancel(self, batch_id: str) -> None:
        self._client.messages.batches.cancel(batch_id)

    def sync_client(self) -> SyncClient:
        from batchgraph.providers.anthropic_sync import AnthropicSyncClient

        return AnthropicSyncClient(self.settings)

    def _list_since(self, since: datetime) -> Iterator[MessageBatch]:
        """Batches newest first, down to the first one created before `since`."""
        pages = self.cursor_pages(lambda: self._client.messages.batches.list(limit=100))
        return newest_since(
            pages, lambda batch: aware(batch.created_at).timestamp(), since.timestamp()
        )

    def _carries_tag(self, batch: MessageBatch, tag: BatchTag) -> bool:
        """Whether an ended batch's first result line carries `tag` (archived ones cannot tell)."""
        if batch.archived_at is not None or not batch.results_url:
            return False
        lines = self._stream_results(batch.id)
        try:
            first = next(lines, None)
        except ResultsGone:
            return False
        finally:
            lines.close()
        if first is None:
            return False
        found, _ = wire.split_custom_id(str(first.get("custom_id", "")))
        return found == tag

    def _stream_results(self, batch_id: str) -> Generator[dict[str, Any], None, None]:
        """The batch's result lines as dicts, read as they arrive."""
        try:
            with self._client.messages.batches.with_streaming_response.results(batch_id) as resp:
                for line in resp.iter_lines():
                    if line.strip():
                        yield jsoncodec.loads(line)
        except anthropic.NotFoundError as err:
            raise ResultsGone(
                self.name, f"its results are gone: {describe(err)}", batch_id
            ) from err
        except anthropic.AnthropicError as err:
            raise self.failure("read the results", batch_id, err) from err
        except httpx2.TransportError as err:
            message = f"the results stream broke off ({err}); read them again"
            raise ProviderUnavailable(self.name, message, batch_id) from err
        except json.JSONDecodeError as err:
            message = f"a results line is not JSON ({err})"
            raise ProviderCallError(self.name, message, batch_id) from err

    @classmethod
    def http_status(cls, err: Exception) -> int | None:
        return err.status_code if isinstance(err, anthropic.APIStatusError) else None

    def describe(self, err: Exception) -> str:
        return describe(err)


def _created(batch: MessageBatch) -> float:
    return aware(batch.created_at).timestamp()


def _size(batch: MessageBatch) -> int:
    """How many requests a batch holds, whatever state they are in."""
    counts = batch.request_counts
    return counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired


def _holds(batch: MessageBatch, size: int | None) -> bool:
    """Whether a batch holds `size` requests (any size when unknown)."""
    return size is None or _size(batch) == size


def batch_status(batch: MessageBatch) -> BatchStatus:
    """Our status for an Anthropic batch.

    An ended batch is CANCELLED when a cancel was asked for, EXPIRED when any request ran out of
    time, else COMPLETED. While it runs, every request counts as processing (Anthropic moves
    them all at the end), so `failed` stays 0 until then; afterwards it is every request that
    did not succeed (errored, expired or cancelled).
    """
    counts = batch.request_counts
    total = _size(batch)
    errors: tuple[str, ...] = ()
    if batch.processing_status == "in_progress":
        state = BatchState.RUNNING
    elif batch.processing_status == "canceling":
        state = BatchState.CANCELLING
    elif batch.cancel_initiated_at is not None:
        state = BatchState.CANCELLED
    elif counts.expired:
        state = BatchState.EXPIRED
    else:
        state = BatchState.COMPLETED
    if batch.archived_at is not None:
        errors = (f"results were archived at {batch.archived_at:%Y-%m-%d %H:%M} UTC and are gone",)
    return BatchStatus(
        batch_id=batch.id,
        state=state,
        raw_status=batch.processing_status,
        total=total,
        succeeded=counts.succeeded,
        failed=total - counts.succeeded - counts.processing,
        errors=errors,
    )


def describe(err: Exception) -> str:
    """An SDK error as one line: HTTP status, Anthropic's error type and message, request id."""
    if isinstance(err, anthropic.APIStatusError):
        body = err.body if isinstance(err.body, dict) else {}
        inner = body.get("error")
        if not isinstance(inner, dict):
            inner = {}
        kind = inner.get("type") or "error"
        message = inner.get("message") or err.message
        request_id = f" (request id {err.request_id})" if err.request_id else ""
        hint = " — check the API key" if err.status_code == 401 else ""
        return f"HTTP {err.status_code} {kind}: {message}{request_id}{hint}"
    if isinstance(err, anthropic.APIConnectionError):
        return f"could not reach Anthropic ({err}); check the network and base URL"
    return str(err)
