"""Mistral's Batch API, built on the official `mistralai` SDK.

A chunk becomes one JSONL file (`{custom_id, body}` per line) uploaded with purpose `batch`, and
one batch job naming that file, the model and the endpoint. The job carries our tag in its
`metadata`, which the list call can filter on, so a crashed submit is found again instead of
being paid for twice. Results come back as two JSONL files (output and error), streamed line by
line.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, Any, ClassVar, TypeVar, cast

from mistralai.client import Mistral
from mistralai.client.models import BatchJob
from mistralai.client.utils import BackoffStrategy, RetryConfig

from batchgraph.errors import ProviderCallError
from batchgraph.model import (
    JSON,
    Kind,
    Outcome,
    ProviderError,
    Request,
    Result,
    Usage,
)
from batchgraph.providers.base import (
    BatchState,
    BatchStatus,
    BatchTag,
    Caps,
    Provider,
    WireItem,
)
from batchgraph.providers.settings import ProviderSettings

T = TypeVar("T")

TAG_KEY = "batchgraph_tag"
"""Metadata key holding `BatchTag.label()` (Mistral allows keys of 1–32 characters)."""
SCHEMA_KEY = "batchgraph_schema"
"""Metadata key saying which requests asked for a JSON schema: `all` or `some` (absent: none)."""

ENDPOINTS = {Kind.CHAT: "/v1/chat/completions", Kind.EMBEDDING: "/v1/embeddings"}

READ_RETRIES = RetryConfig(
    "backoff",
    BackoffStrategy(
        initial_interval=500, max_interval=30_000, exponent=2, max_elapsed_time=120_000
    ),
    retry_connection_errors=True,
)
"""Reads are safe to repeat; the SDK retries nothing unless told to (429 and 5xx then)."""

NO_RETRY = RetryConfig("none", BackoffStrategy(0, 0, 1, 0), retry_connection_errors=False)
"""For creating things: a repeated create after a timeout could start a second, paid job."""

STATES = {
    "QUEUED": BatchState.PENDING,
    "RUNNING": BatchState.RUNNING,
    "SUCCESS": BatchState.COMPLETED,
    "FAILED": BatchState.FAILED,
    "TIMEOUT_EXCEEDED": BatchState.EXPIRED,
    "CANCELLATION_REQUESTED": BatchState.CANCELLING,
    "CANCELLED": BatchState.CANCELLED,
}

LIST_PAGE_SIZE = 100
TEMPERATURE_RANGE = (0.0, 1.5)
ROLES = ("system", "user", "assistant", "tool")


class MistralProvider(Provider):
    """Mistral batch jobs over uploaded JSONL files, one model and one endpoint per job."""

    name: ClassVar[str] = "mistral"
    # Mistral's known-limitations page gives 100,000 requests and 512 MB per batch file, while
    # the API reference only caps inline jobs (10,000) and pending requests per workspace (1 M).
    # We take the stricter figures minus a margin: 5 % on the count, and 500,000,000 bytes, which
    # stays under 512 MB whichever way "MB" is meant and leaves room for multipart framing.
    caps: ClassVar[Caps] = Caps(max_requests=95_000, max_bytes=500_000_000)

    def __init__(
        self, settings: ProviderSettings, *, read_retries: RetryConfig = READ_RETRIES
    ) -> None:
        super().__init__(settings)
        self._client = Mistral(
            api_key=settings.api_key, server_url=settings.base_url, retry_config=read_retries
        )

    # -- validation and sizing ------------------------------------------------------------

    @classmethod
    def check_request(cls, request: Request) -> str | None:
        low, high = TEMPERATURE_RANGE
        if request.temperature is not None and not low <= request.temperature <= high:
            return (
                f"Mistral accepts temperature from {low} to {high}, not {request.temperature}; "
                f"set a temperature in that range (0.0–0.7 is recommended)"
            )
        if request.max_tokens is not None and request.max_tokens < 1:
            return "Mistral needs max_tokens of at least 1; raise it or leave it out"
        if request.kind is Kind.EMBEDDING:
            if not request.input:
                return "a Mistral embedding request needs a non-empty `input` text"
            return None
        return _check_messages(request)

    def wire_size(self, item: WireItem) -> int:
        return len(_jsonl_line(item))

    # -- creating and finding -------------------------------------------------------------

    def create_batch(self, items: Sequence[WireItem], tag: BatchTag) -> str:
        if not items:
            raise ProviderCallError(self.name, "cannot create a batch with no requests")
        model, kind = _one_model_and_kind(items)
        metadata = {TAG_KEY: tag.label()}
        with_schema = sum(item.request.output_schema is not None for item in items)
        if with_schema:
            metadata[SCHEMA_KEY] = "all" if with_schema == len(items) else "some"
        try:
            with tempfile.TemporaryFile() as upload:
                _write_jsonl(items, upload)
                upload.seek(0)
                uploaded = self._client.files.upload(
                    file={
                        "file_name": f"{tag.label()}.jsonl",
                        "content": upload,
                        "content_type": "application/jsonl",
                    },
                    purpose="batch",
                    retries=NO_RETRY,
                )
            # The uploaded file is left in place if the create fails: a timed-out create may
            # still have made a job that reads it.
            job = self._client.batch.jobs.create(
                input_files=[uploaded.id],
                model=model,
                endpoint=cast(Any, ENDPOINTS[kind]),
                metadata=metadata,
                retries=NO_RETRY,
            )
        except Exception as err:
            raise ProviderCallError(
                self.name,
                f"creating the batch for {tag.label()} failed ({err}); it may still exist, "
                "so look it up by its tag before creating it again",
            ) from err
        return job.id

    def find_batch(self, tag: BatchTag, created_after: datetime) -> str | None:
        label = tag.label()
        # Mistral stamps jobs in whole seconds; a second of slack keeps a job created in the
        # same second as `created_after` in view. The tag check below stays exact.
        since = created_after - timedelta(seconds=1)
        page = 0
        while True:
            listing = self._call(
                None,
                self._client.batch.jobs.list,
                page=page,
                page_size=LIST_PAGE_SIZE,
                metadata={TAG_KEY: label},
                created_after=since,
                order_by="-created",
            )
            jobs = listing.data or []
            for job in jobs:
                if job.created_at < since.timestamp():
                    return None
                if (job.metadata or {}).get(TAG_KEY) == label:
                    return job.id
            if len(jobs) < LIST_PAGE_SIZE or (page + 1) * LIST_PAGE_SIZE >= listing.total:
                return None
            page += 1

    # -- following a batch ----------------------------------------------------------------

    def status(self, batch_id: str) -> BatchStatus:
        job = self._get(batch_id)
        return BatchStatus(
            batch_id=job.id,
            # An unknown future status is read as still running: polling a finished job once
            # more costs nothing, while mistaking a running job for finished could pay twice.
            state=STATES.get(job.status, BatchState.RUNNING),
            raw_status=job.status,
            total=job.total_requests,
            succeeded=job.succeeded_requests,
            failed=job.failed_requests,
            errors=tuple(
                e.message if (e.count or 1) == 1 else f"{e.message} (×{e.count})"
                for e in job.errors
            ),
        )

    def results(self, batch_id: str) -> Iterator[Result]:
        job = self._get(batch_id)
        wants_json = self._schema_requests(job)
        embeddings = job.endpoint == ENDPOINTS[Kind.EMBEDDING]
        for file_id in (job.output_file, job.error_file):
            if file_id:
                for line in self._lines(batch_id, file_id):
                    result = parse_result_line(line, batch_id, embeddings, wants_json)
                    if result is not None:
                        yield result

    def cancel(self, batch_id: str) -> None:
        self._call(batch_id, self._client.batch.jobs.cancel, job_id=batch_id)

    # -- SDK plumbing ---------------------------------------------------------------------

    def _get(self, batch_id: str) -> BatchJob:
        return self._call(batch_id, self._client.batch.jobs.get, job_id=batch_id)

    def _call(self, batch_id: str | None, call: Callable[..., T], **kwargs: Any) -> T:
        """Run one SDK call, turning its failures into `ProviderCallError`."""
        try:
            return call(**kwargs)
        except Exception as err:
            raise ProviderCallError(self.name, f"{err}", batch_id) from err

    def _lines(self, batch_id: str, file_id: str) -> Iterator[str]:
        """The file's lines, streamed: results files can be far larger than memory."""
        response = self._call(batch_id, self._client.files.download, file_id=file_id)
        try:
            for line in response.iter_lines():
                if line.strip():
                    yield line
        finally:
            response.close()

    def _schema_requests(self, job: BatchJob) -> _WantsJson:
        """Which answers to parse as JSON: all, none, or the ids read back from the input."""
        marker = (job.metadata or {}).get(SCHEMA_KEY)
        if marker == "all":
            return _WantsJson(everything=True)
        if marker != "some":
            return _WantsJson()
        ids: set[str] = set()
        for file_id in job.input_files:
            for line in self._lines(job.id, file_id):
                entry = json.loads(line)
                body_format = (entry.get("body") or {}).get("response_format") or {}
                if body_format.get("type") == "json_schema":
                    ids.add(str(entry.get("custom_id")))
        return _WantsJson(ids=frozenset(ids))


class _WantsJson:
    """Whether a custom_id asked for structured output (so its text is parsed)."""

    def __init__(self, *, everything: bool = False, ids: frozenset[str] = frozenset()) -> None:
        self.everything = everything
        self.ids = ids

    def __call__(self, custom_id: str) -> bool:
        return self.everything or custom_id in self.ids


# -- requests on the wire ----------------------------------------------------------------


def request_body(request: Request) -> dict[str, JSON]:
    """The body Mistral's endpoint takes; the model is given once, on the job."""
    if request.kind is Kind.EMBEDDING:
        return {"input": request.input}
    messages: list[dict[str, str]] = []
    if request.system is not None:
        messages.append({"role": "system", "content": request.system})
    messages.extend(request.messages)
    body: dict[str, JSON] = {"messages": messages}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.output_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": request.output_schema.name,
                "schema": request.output_schema.schema,
                "strict": True,
            },
        }
    return body


def _jsonl_line(item: WireItem) -> bytes:
    line = {"custom_id": item.custom_id, "body": request_body(item.request)}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _write_jsonl(items: Sequence[WireItem], out: IO[bytes]) -> None:
    for item in items:
        out.write(_jsonl_line(item))


def _one_model_and_kind(items: Sequence[WireItem]) -> tuple[str, Kind]:
    """A Mistral job runs one model on one endpoint, so a chunk must not mix them."""
    first = items[0].request
    for item in items:
        if (item.request.model, item.request.kind) != (first.model, first.kind):
            raise ProviderCallError(
                "mistral",
                f"a Mistral batch runs one model on one endpoint, but request "
                f"{item.request.id!r} (line {item.request.line}) has {item.request.model} "
                f"({item.request.kind}) and the first has {first.model} ({first.kind}); "
                "plan chunks per model and kind",
            )
    return first.model, first.kind


def _check_messages(request: Request) -> str | None:
    if not request.messages:
        return "a Mistral chat request needs at least one message; add a user message"
    for message in request.messages:
        role = message.get("role")
        if role not in ROLES:
            return (
                f"Mistral does not know the message role {role!r}; use one of "
                f"{', '.join(ROLES)} (put instructions in `system`)"
            )
    if request.messages[-1].get("role") == "assistant":
        return "Mistral needs the last message to come from the user; end with a user message"
    return None


# -- results off the wire ----------------------------------------------------------------


def parse_result_line(
    line: str, batch_id: str, embeddings: bool, wants_json: Callable[[str], bool]
) -> Result | None:
    """One output- or error-file line as a `Result` (None for a line with no custom_id).

    A line is failed when `error` is set or the status is ≥ 400, as in `mistralai.extra.batch`.
    """
    entry: dict[str, JSON] = json.loads(line)
    custom_id = entry.get("custom_id")
    if custom_id is None:
        return None
    response = entry.get("response") or {}
    status_code = response.get("status_code")
    body = response.get("body")
    error = entry.get("error")
    if error is not None or (status_code is not None and status_code >= 400):
        return Result(
            custom_id=custom_id,
            outcome=Outcome.FAILED,
            batch_id=batch_id,
            error=_provider_error(status_code, body, error, entry),
        )
    body = body if isinstance(body, dict) else {}
    if embeddings:
        data = body.get("data") or [{}]
        return Result(
            custom_id=custom_id,
            outcome=Outcome.SUCCEEDED,
            batch_id=batch_id,
            embedding=data[0].get("embedding"),
            model=body.get("model"),
            usage=_usage(body.get("usage")),
        )
    choice = (body.get("choices") or [{}])[0]
    text = _text_of((choice.get("message") or {}).get("content"))
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        text=text,
        parsed=_parse_json(text) if wants_json(custom_id) else None,
        stop_reason=choice.get("finish_reason"),
        model=body.get("model"),
        usage=_usage(body.get("usage")),
    )


def _text_of(content: JSON) -> str | None:
    """Message content is a string, or a list of chunks (reasoning models add `thinking`)."""
    if content is None or isinstance(content, str):
        return content
    parts = [c.get("text", "") for c in content if isinstance(c, dict) and c.get("type") == "text"]
    return "".join(parts)


def _parse_json(text: str | None) -> JSON:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _usage(usage: JSON) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
    )


def _provider_error(status_code: int | None, body: JSON, error: JSON, raw: JSON) -> ProviderError:
    source = error if error is not None else body
    code = None
    message: JSON = None
    if isinstance(source, dict):
        code = source.get("code") or source.get("type")
        message = source.get("message") or source.get("detail")
    elif source is not None:
        message = source
    if code is None:
        code = f"http_{status_code}" if status_code is not None else "error"
    retryable = status_code is not None and (status_code == 429 or status_code >= 500)
    return ProviderError(
        code=str(code), message=_message_text(message, status_code), raw=raw, retryable=retryable
    )


def _message_text(message: JSON, status_code: int | None) -> str:
    """Mistral's messages are strings or FastAPI-style `{"detail": [{loc, msg}, …]}`."""
    if isinstance(message, dict) and "detail" in message:
        message = message["detail"]
    if isinstance(message, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg', d)}"
            if isinstance(d, dict)
            else str(d)
            for d in message
        )
    if message is None:
        return f"request failed with HTTP {status_code}"
    return str(message)
