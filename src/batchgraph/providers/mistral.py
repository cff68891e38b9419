"""Mistral batch jobs, through the official `mistralai` SDK.

A chunk becomes one JSONL file (`{custom_id, body}` per line, see `mistral_wire`) uploaded with
purpose `batch`, and one job naming that file, the model and the endpoint. The job carries our tag
in its `metadata`, which the list call filters on, so a crashed submit is found again instead of
paid for twice. Results come back as an output file and an error file, streamed line by line.

Mistral's SDK retries nothing unless given a `RetryConfig`: reads get one (429 and 5xx, with
backoff); uploading and creating are sent exactly once, because a create that timed out may still
have made a job, and the caller looks the tag up with `find_batch` before trying again.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, cast

import httpx2
from mistralai.client import Mistral
from mistralai.client.errors import MistralError, NoResponseError
from mistralai.client.models import BatchJob
from mistralai.client.utils import BackoffStrategy, RetryConfig

from batchgraph.errors import ProviderCallError, ResultsGone
from batchgraph.model import JSON, Kind, Outcome, Request, Result
from batchgraph.providers import mistral_wire as wire
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
from batchgraph.providers.chat_format import wants_json
from batchgraph.providers.registry import ProviderSpec, spec_for
from batchgraph.providers.sdk import SdkProvider, newest_since, tagged
from batchgraph.providers.settings import ProviderSettings
from batchgraph.providers.sync_api import SyncClient

TAG_KEY = "batchgraph_tag"
"""Metadata key holding `BatchTag.label()` (Mistral allows keys of 1–32 characters)."""
SCHEMA_KEY = "batchgraph_schema"
"""Metadata key saying which requests asked for a JSON schema: `all` or `some` (absent: none).

Result lines do not echo the request, so this is how `results` knows which answers to parse."""

READ_RETRIES = RetryConfig(
    "backoff",
    BackoffStrategy(
        initial_interval=500, max_interval=30_000, exponent=2, max_elapsed_time=120_000
    ),
    retry_connection_errors=True,
)
"""Reads are safe to repeat and polling should ride out blips."""

NO_RETRY = RetryConfig("none", BackoffStrategy(0, 0, 1, 0), retry_connection_errors=False)
"""For uploads and creates: the upload streams from a file that a retry would find consumed,
and a repeated create after a timeout could start a second, paid job."""

LIST_PAGE_SIZE = 100

STATES = {
    "QUEUED": BatchState.PENDING,
    "RUNNING": BatchState.RUNNING,
    "SUCCESS": BatchState.COMPLETED,
    "FAILED": BatchState.FAILED,
    "TIMEOUT_EXCEEDED": BatchState.EXPIRED,
    "CANCELLATION_REQUESTED": BatchState.CANCELLING,
    "CANCELLED": BatchState.CANCELLED,
}

UNFINISHED = {"TIMEOUT_EXCEEDED": Outcome.EXPIRED, "CANCELLED": Outcome.CANCELLED}
"""How requests a job never ran are reported, by the job's final status."""


class MistralProvider(SdkProvider):
    """Mistral batch jobs over uploaded JSONL files, one model and one endpoint per job."""

    sdk_errors = (MistralError, NoResponseError, httpx2.HTTPError)
    unreachable_errors = (httpx2.TransportError, NoResponseError)

    spec: ClassVar[ProviderSpec] = spec_for("mistral")
    name: ClassVar[str] = spec.name
    caps: ClassVar[Caps] = spec.caps

    @classmethod
    def wire_body(cls, request: Request) -> dict[str, JSON] | None:
        return wire.request_body(request)

    def __init__(
        self, settings: ProviderSettings, *, read_retries: RetryConfig = READ_RETRIES
    ) -> None:
        super().__init__(settings)
        self._client = Mistral(
            api_key=settings.api_key, server_url=settings.base_url, retry_config=read_retries
        )

    @classmethod
    def check_request(cls, request: Request) -> str | None:
        return wire.check_request(request)

    @classmethod
    def wire_size(cls, item: WireItem) -> int:
        return len(wire.jsonl_line(item))

    def prepare_batch(self, items: Sequence[WireItem], tag: BatchTag) -> PreparedBatch:
        """Write the chunk's JSONL to a temporary file and upload it."""
        model, kind = _one_model_and_kind(items)
        metadata = {TAG_KEY: tag.label()}
        with_schema = sum(wants_json(item.request) for item in items)
        if with_schema:
            metadata[SCHEMA_KEY] = "all" if with_schema == len(items) else "some"
        with tempfile.TemporaryFile() as upload:
            wire.write_jsonl(items, upload)
            upload.seek(0)
            uploaded = self.call(
                "upload the batch file",
                None,
                self._client.files.upload,
                file={
                    "file_name": f"{tag.label()}.jsonl",
                    "content": upload,
                    "content_type": "application/jsonl",
                },
                purpose="batch",
                retries=NO_RETRY,
            )
        return PreparedBatch(
            tag,
            len(items),
            file_id=uploaded.id,
            endpoint=wire.ENDPOINTS[kind],
            model=model,
            metadata=metadata,
        )

    def create_prepared(self, prepared: PreparedBatch) -> str:
        assert prepared.file_id is not None, "a Mistral batch reads an uploaded file"
        # If this create fails the uploaded file stays: a create that timed out may still have
        # made a job that reads it.
        job = self.call(
            f"create the batch for {prepared.tag.label()} (it may exist anyway: look it up by "
            "its tag before creating it again)",
            None,
            self._client.batch.jobs.create,
            input_files=[prepared.file_id],
            model=prepared.model,
            endpoint=cast(Any, prepared.endpoint),
            metadata=dict(prepared.metadata),
            retries=NO_RETRY,
        )
        return job.id

    def discard_prepared(self, prepared: PreparedBatch) -> None:
        if prepared.file_id is not None:
            self.call(
                "delete an unused upload", None, self._client.files.delete, file_id=prepared.file_id
            )

    def find_batch(
        self, tag: BatchTag, created_after: datetime, hints: LookupHints | None = None
    ) -> str | None:
        """The newest job carrying `tag` in its metadata, created since `created_after`."""
        label = tag.label()
        since = aware(created_after) - CLOCK_SLACK
        recent = newest_since(
            self._job_pages(label, since), lambda job: job.created_at, since.timestamp()
        )
        found = tagged(recent, TAG_KEY, label, lambda job: job.metadata)
        return found.id if found is not None else None

    def _job_pages(self, label: str, since: datetime) -> Iterator[list[BatchJob]]:
        """Jobs tagged `label`, newest first, page by page (Mistral pages by number)."""
        page = 0
        while True:
            listing = self.call(
                "list batches",
                None,
                self._client.batch.jobs.list,
                page=page,
                page_size=LIST_PAGE_SIZE,
                metadata={TAG_KEY: label},
                created_after=since,
                order_by="-created",
            )
            jobs = listing.data or []
            yield jobs
            if len(jobs) < LIST_PAGE_SIZE or (page + 1) * LIST_PAGE_SIZE >= listing.total:
                return
            page += 1

    def list_models(self) -> list[str] | None:
        listing = self._client.models.list()
        return [name for card in listing.data or [] if (name := getattr(card, "id", None))]

    def status(self, batch_id: str) -> BatchStatus:
        return batch_status(self._get(batch_id))

    def results(self, batch_id: str) -> Iterator[Result]:
        """The output file's lines, then the error file's.

        A job that timed out or was cancelled writes no line for the requests it never ran;
        those are named from its input file as EXPIRED or CANCELLED, which means remembering the
        ids seen (as `account_for` does anyway).
        """
        job = self._get(batch_id)
        wants_json = self._schema_requests(job)
        embeddings = job.endpoint == wire.ENDPOINTS[Kind.EMBEDDING]
        unfinished = UNFINISHED.get(job.status)
        label = (job.metadata or {}).get(TAG_KEY)
        seen: set[str] = set()
        for file_id in (job.output_file, job.error_file):
            if file_id:
                for line in self._lines(batch_id, file_id):
                    result = wire.parse_result_line(line, batch_id, embeddings, wants_json)
                    if result is not None:
                        if unfinished is not None:
                            seen.add(result.custom_id)
                        result.tag = label
                        yield result
        if unfinished is not None:
            for result in self._never_ran(job, seen, unfinished):
                result.tag = label
                yield result

    def probe(self) -> None:
        self._client.batch.jobs.list(page_size=1)

    def request_cancel(self, batch_id: str) -> None:
        self._client.batch.jobs.cancel(job_id=batch_id)

    @classmethod
    def http_status(cls, err: Exception) -> int | None:
        if isinstance(err, MistralError):
            return err.status_code
        if isinstance(err, httpx2.HTTPStatusError):
            return err.response.status_code
        return None

    def describe(self, err: Exception) -> str:
        return describe(err)

    def sync_client(self) -> SyncClient:
        from batchgraph.providers.mistral_sync import MistralSyncClient

        return MistralSyncClient(self.settings)

    def _get(self, batch_id: str) -> BatchJob:
        return self.call("read the batch", batch_id, self._client.batch.jobs.get, job_id=batch_id)

    def _lines(self, batch_id: str, file_id: str) -> Iterator[str]:
        """The file's non-empty lines, streamed: results can be far larger than memory."""
        what = f"download file {file_id}"
        try:
            response = self._client.files.download(file_id=file_id)
        except MistralError as err:
            if err.status_code in (404, 410):
                gone = f"file {file_id} is gone: {describe(err)}"
                raise ResultsGone(self.name, gone, batch_id) from err
            raise self.failure(what, batch_id, err) from err
        except self.sdk_errors as err:
            raise self.failure(what, batch_id, err) from err
        try:
            for line in response.iter_lines():
                if line.strip():
                    yield line
        except httpx2.HTTPError as err:
            raise self.failure(what, batch_id, err) from err
        finally:
            response.close()

    def _never_ran(self, job: BatchJob, seen: set[str], outcome: Outcome) -> Iterator[Result]:
        for file_id in job.input_files:
            for line in self._lines(job.id, file_id):
                custom_id = wire.custom_id_of(line)
                if custom_id is not None and custom_id not in seen:
                    seen.add(custom_id)
                    yield Result(custom_id=custom_id, outcome=outcome, batch_id=job.id)

    def _schema_requests(self, job: BatchJob) -> Callable[[str], bool]:
        """Which answers to parse as JSON: all, none, or those whose input line asked."""
        marker = (job.metadata or {}).get(SCHEMA_KEY)
        if marker == "all":
            return lambda _custom_id: True
        if marker != "some":
            return lambda _custom_id: False
        ids = frozenset(
            custom_id
            for file_id in job.input_files
            for line in self._lines(job.id, file_id)
            if (custom_id := wire.asks_for_schema(line)) is not None
        )
        return ids.__contains__


def batch_status(job: BatchJob) -> BatchStatus:
    """Our status for a Mistral job.

    An unknown (future) status reads as still running: polling a finished job once more costs
    nothing, while taking a running job for finished could lead to paying twice.
    """
    return BatchStatus(
        batch_id=job.id,
        state=STATES.get(job.status, BatchState.RUNNING),
        raw_status=job.status,
        total=job.total_requests,
        succeeded=job.succeeded_requests,
        failed=job.failed_requests,
        errors=tuple(
            e.message if (e.count or 1) == 1 else f"{e.message} (×{e.count})" for e in job.errors
        ),
    )


def describe(err: Exception) -> str:
    """An SDK error as one line: HTTP status and Mistral's message, with a hint where one helps."""
    if isinstance(err, MistralError):
        try:
            body = json.loads(err.body)
        except ValueError:
            body = err.body
        message = body.get("message") or body.get("detail") if isinstance(body, dict) else body
        hint = " — check MISTRAL_API_KEY" if err.status_code == 401 else ""
        return f"HTTP {err.status_code}: {wire.message_text(message, err.status_code)}{hint}"
    if isinstance(err, httpx2.HTTPError | NoResponseError):
        return f"could not reach Mistral ({err!r}); check the network and the base URL"
    return str(err)


def _one_model_and_kind(items: Sequence[WireItem]) -> tuple[str, Kind]:
    """A Mistral job runs one model on one endpoint, so a chunk must not mix them."""
    if not items:
        raise ProviderCallError("mistral", "a batch needs at least one request")
    first = items[0].request
    for item in items:
        if (item.request.model, item.request.kind) != (first.model, first.kind):
            raise ProviderCallError(
                "mistral",
                f"a Mistral batch runs one model on one endpoint, but request "
                f"{item.request.id!r} (line {item.request.line}) asks {item.request.model} "
                f"for {item.request.kind} and the first asks {first.model} for {first.kind}; "
                "plan chunks per model and kind",
            )
    return first.model, first.kind
