"""OpenAI's Batch API, through the official `openai` SDK; also the adapter of every host of the
same protocol (Groq, Together, Azure OpenAI in `azure_openai`), whose differences are their
registry entry's options: base URL, completion window, upload purpose.

A chunk becomes a JSONL file (written to a temporary file line by line, then uploaded), and a
batch over that file tagged with `metadata={"batchgraph_tag": <tag label>}`; `find_batch` looks
that tag up. Results are streamed from the output and error files, one line at a time.

Reads and uploads are retried by the SDK on connection errors, 429 (honouring `Retry-After`) and
5xx, with backoff; creating a batch is sent exactly once, because a create that timed out may
still have made a batch: the caller looks the tag up with `find_batch` before trying again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, ClassVar

import httpx2
import openai
from openai.types import Batch

from batchgraph.errors import ProviderCallError, ProviderUnavailable, ResultsGone
from batchgraph.model import JSON, Request, Result
from batchgraph.providers import openai_wire as wire
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
from batchgraph.providers.sdk import SdkProvider, newest_since, tagged
from batchgraph.providers.settings import ProviderSettings
from batchgraph.providers.sync_api import CALL_TIMEOUT, SyncClient

READ_RETRIES = 4
"""SDK retries for reads and uploads: safe to repeat, and polling should ride out blips."""

READ_BLOCK = 1 << 16
"""Bytes read at a time from a result file."""

CREATE_TIMEOUT = 600.0
"""Seconds one create call may take."""

QUOTA_CODE = "token_limit_exceeded"
"""The error of a batch refused for the organization's enqueued-token limit."""

TAG_KEY = "batchgraph_tag"
SCHEMA_KEY = "batchgraph_schema"
"""Metadata telling `results` which answers to parse as JSON: "all", "none" or "some" (then
the input file says which)."""

STATES = {
    "validating": BatchState.PENDING,
    "in_progress": BatchState.RUNNING,
    "finalizing": BatchState.FINALIZING,
    "completed": BatchState.COMPLETED,
    "failed": BatchState.FAILED,
    "expired": BatchState.EXPIRED,
    "cancelling": BatchState.CANCELLING,
    "cancelled": BatchState.CANCELLED,
}


class OpenAIProvider(SdkProvider):
    """OpenAI's Batch API (chat completions and embeddings)."""

    sdk_errors = (openai.OpenAIError,)
    unreachable_errors = (openai.APIConnectionError,)

    spec: ClassVar[ProviderSpec] = spec_for("openai")
    name: ClassVar[str] = spec.name
    caps: ClassVar[Caps] = spec.caps

    url_root: ClassVar[str] = "/v1"
    """What batch endpoints and input lines' urls start with (`/v1/chat/completions`)."""

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self._client = self.make_client(settings)
        self._window = settings.options.get("completion_window", "24h")
        self._purpose = settings.options.get("batch_purpose", "batch")

    @classmethod
    def make_client(cls, settings: ProviderSettings) -> openai.OpenAI:
        """The SDK client; a host that needs another client class (Azure's) overrides this."""
        return openai.OpenAI(
            api_key=settings.api_key, base_url=settings.base_url, max_retries=READ_RETRIES
        )

    @classmethod
    def wire_body(cls, request: Request) -> dict[str, JSON] | None:
        return wire.request_body(request)

    @classmethod
    def prompt_overhead(cls, body: dict[str, JSON]) -> int:
        """3 tokens per chat message and 3 priming the reply (OpenAI's published count)."""
        messages = body.get("messages")
        return 3 * len(messages) + 3 if isinstance(messages, list) else 0

    @classmethod
    def tokenizer(cls, model: str) -> str | None:
        return wire.tokenizer(model)

    @classmethod
    def check_request(cls, request: Request) -> str | None:
        return wire.check_request(request)

    @classmethod
    def wire_size(cls, item: WireItem) -> int:
        return len(wire.input_line(item, cls.url_root))

    @classmethod
    def wire_size_bound(cls, stored_bytes: int, custom_id_bytes: int) -> int:
        return stored_bytes + custom_id_bytes + wire.LINE_OVERHEAD_BOUND

    def prepare_batch(self, items: Sequence[WireItem], tag: BatchTag) -> PreparedBatch:
        """Write the chunk's JSONL line by line to a temporary file and upload it."""
        if not items:
            raise ProviderCallError(self.name, "cannot create a batch without requests")
        with tempfile.TemporaryFile() as spool:
            endpoints: set[str] = set()
            schemas = 0
            for item in items:
                line = wire.encode_item(item, self.url_root)
                spool.write(line.data)
                endpoints.add(line.url)
                schemas += line.wants_schema
            if len(endpoints) > 1:
                raise ProviderCallError(
                    self.name,
                    f"one {self.spec.title} batch serves one endpoint; put chat and embedding "
                    "requests in separate jobs",
                )
            file_id = self._upload(spool, tag)
        metadata = {
            TAG_KEY: tag.label(),
            SCHEMA_KEY: "none" if not schemas else "all" if schemas == len(items) else "some",
        }
        return PreparedBatch(
            tag, len(items), file_id=file_id, endpoint=endpoints.pop(), metadata=metadata
        )

    def create_prepared(self, prepared: PreparedBatch) -> str:
        assert prepared.file_id is not None, "an OpenAI batch reads an uploaded file"
        file_id = prepared.file_id
        once = self._client.with_options(max_retries=0, timeout=CREATE_TIMEOUT)
        batch = self.call(
            "create a batch",
            None,
            lambda: once.batches.create(
                input_file_id=file_id,
                endpoint=prepared.endpoint,  # type: ignore[arg-type]
                completion_window=self._window,  # type: ignore[arg-type]
                metadata=dict(prepared.metadata),
            ),
        )
        return batch.id

    def discard_prepared(self, prepared: PreparedBatch) -> None:
        if prepared.file_id is not None:
            file_id = prepared.file_id
            self.call("delete an unused upload", None, lambda: self._client.files.delete(file_id))

    def _upload(self, spool: IO[bytes], tag: BatchTag) -> str:
        """Upload the chunk's JSONL, written line by line to a temporary file."""
        spool.seek(0)
        name = f"batchgraph-{tag.label()}.jsonl"
        uploaded = self.call(
            "upload the batch input",
            None,
            lambda: self._client.files.create(
                file=(name, spool, "application/jsonl"),
                purpose=self._purpose,  # type: ignore[arg-type]
            ),
        )
        return uploaded.id

    def find_batch(
        self, tag: BatchTag, created_after: datetime, hints: LookupHints | None = None
    ) -> str | None:
        """The newest batch tagged `tag` created since `created_after` (lists newest first)."""
        since = (aware(created_after) - CLOCK_SLACK).timestamp()
        pages = self.cursor_pages(lambda: self._client.batches.list(limit=100))
        recent = newest_since(pages, lambda batch: batch.created_at, since)
        found = tagged(recent, TAG_KEY, tag.label(), lambda batch: batch.metadata)
        return found.id if found is not None else None

    def list_models(self) -> list[str] | None:
        return [model.id for model in self._client.models.list()]

    def status(self, batch_id: str) -> BatchStatus:
        return batch_status(self._get(batch_id))

    def results(self, batch_id: str) -> Iterator[Result]:
        batch = self._get(batch_id)
        wants_json = self._schema_requests(batch)
        label = (batch.metadata or {}).get(TAG_KEY)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id is None:
                continue
            for line in self._lines(file_id, batch_id):
                result = wire.parse_result_line(line, batch_id, wants_json)
                if result is not None:
                    result.tag = label
                    yield result

    def probe(self) -> None:
        self._client.batches.list(limit=1)

    def request_cancel(self, batch_id: str) -> None:
        self._client.batches.cancel(batch_id)

    def sync_client(self) -> SyncClient:
        from batchgraph.providers.openai_sync import OpenAISyncClient

        return OpenAISyncClient(self.settings.provider, self.make_async_client(self.settings))

    @classmethod
    def make_async_client(cls, settings: ProviderSettings) -> openai.AsyncOpenAI:
        """The SDK's async client for direct calls, its own retries off (the synchronous
        executor retries); Azure's adapter overrides it as it does `make_client`."""
        return openai.AsyncOpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            max_retries=0,
            timeout=CALL_TIMEOUT,
        )

    def _get(self, batch_id: str) -> Batch:
        return self.call(
            "read the batch", batch_id, lambda: self._client.batches.retrieve(batch_id)
        )

    def _schema_requests(self, batch: Batch) -> Callable[[str], bool]:
        """Which custom_ids asked for a JSON schema (their answers are parsed)."""
        marked = (batch.metadata or {}).get(SCHEMA_KEY)
        if marked in ("all", "none"):
            return lambda _custom_id: marked == "all"
        wanted = {
            custom_id
            for line in self._lines(batch.input_file_id, batch.id)
            if (custom_id := wire.asks_for_schema(line)) is not None
        }
        return wanted.__contains__

    def _lines(self, file_id: str, batch_id: str) -> Iterator[bytes]:
        """A file's non-blank lines as UTF-8, streamed as they arrive (split here: decoding
        every block to text first costs more than the JSON parser needs)."""
        try:
            with self._client.files.with_streaming_response.content(file_id) as response:
                rest = b""
                for block in response.iter_bytes(READ_BLOCK):
                    lines = (rest + block).split(b"\n")
                    rest = lines.pop()
                    yield from (line for line in lines if line.strip())
                if rest.strip():
                    yield rest
        except openai.NotFoundError as err:
            gone = f"file {file_id} is gone: {self.describe(err)}"
            raise ResultsGone(self.name, gone, batch_id) from err
        except openai.OpenAIError as err:
            raise self.failure(f"read file {file_id}", batch_id, err) from err
        except httpx2.TransportError as err:
            message = f"reading file {file_id} broke off ({err}); read it again"
            raise ProviderUnavailable(self.name, message, batch_id) from err

    @classmethod
    def http_status(cls, err: Exception) -> int | None:
        return err.status_code if isinstance(err, openai.APIStatusError) else None

    def describe(self, err: Exception) -> str:
        return describe(err, self.spec.title)


def batch_status(batch: Batch) -> BatchStatus:
    """Our status for an OpenAI batch; validation errors become readable lines."""
    counts = batch.request_counts
    codes = {e.code for e in ((batch.errors.data or []) if batch.errors else [])}
    errors = tuple(
        f"line {e.line}: {e.code}: {e.message}" if e.line else f"{e.code}: {e.message}"
        for e in ((batch.errors.data or []) if batch.errors else [])
    )
    return BatchStatus(
        batch_id=batch.id,
        state=STATES.get(batch.status, BatchState.RUNNING),
        raw_status=batch.status,
        total=counts.total if counts else 0,
        succeeded=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        errors=errors,
        quota_refused=batch.status == "failed" and QUOTA_CODE in codes,
    )


def describe(err: Exception, title: str = "OpenAI") -> str:
    """An SDK error as one line: HTTP status, the host's error type/code and message, request
    id; `title` names the host."""
    if isinstance(err, openai.APIStatusError):
        kind = err.code or err.type or "error"
        request_id = f" (request id {err.request_id})" if err.request_id else ""
        hint = " — check the API key" if err.status_code == 401 else ""
        return f"HTTP {err.status_code} {kind}: {err.message}{request_id}{hint}"
    if isinstance(err, openai.APIConnectionError):
        return f"could not reach {title} ({err}); check the network and base URL"
    return str(err)
