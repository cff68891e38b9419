"""Gemini batch jobs, through the official `google-genai` SDK.

A chunk becomes one JSONL file (`{key, request}` per line, see `gemini_wire`), uploaded with the
Files API's resumable protocol, and one batch job over that file for the chunk's model
(`batches.create`, or `batches.create_embeddings` for embeddings). Gemini batches take no
metadata, so the tag goes in the display name, which `find_batch` looks up, and in every key, so
each result line says which batch it belongs to. Results come back as one responses file,
downloaded to a temporary file and read line by line.

The requests are never sent inline: inline answers come back inside the batch object itself, so
every status read of a finished batch would carry all of them.

The SDK retries nothing unless told to: reads get retry options (408, 429, 5xx, with backoff);
creating a batch is sent exactly once, because a create that timed out may still have made a
batch, and the caller looks the tag up with `find_batch` before trying again.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, ClassVar, TypeVar

import httpx2
from google import genai
from google.genai import errors, types

from batchgraph.errors import ProviderCallError
from batchgraph.model import Kind, Request, Result
from batchgraph.providers import gemini_wire as wire
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
from batchgraph.providers.sdk import SdkProvider
from batchgraph.providers.settings import ProviderSettings

T = TypeVar("T")

API_VERSION = "v1beta"
"""The version that serves batch mode."""

READ_RETRIES = types.HttpRetryOptions(attempts=5, initial_delay=0.5, max_delay=30.0, jitter=0.5)
"""Reads are safe to repeat and polling should ride out blips."""

CREATE_ONCE = types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1), timeout=600_000)
"""Creating a batch: one attempt, waiting up to ten minutes (the SDK counts milliseconds)."""

DOWNLOAD_ATTEMPTS = 5
"""The SDK's file download has no retries of its own; a failed one starts over."""

LIST_PAGE_SIZE = 100
READ_BLOCK = 1 << 16

STATES = {
    "JOB_STATE_PENDING": BatchState.PENDING,
    "JOB_STATE_QUEUED": BatchState.PENDING,
    "JOB_STATE_RUNNING": BatchState.RUNNING,
    "JOB_STATE_SUCCEEDED": BatchState.COMPLETED,
    "JOB_STATE_FAILED": BatchState.FAILED,
    "JOB_STATE_CANCELLING": BatchState.CANCELLING,
    "JOB_STATE_CANCELLED": BatchState.CANCELLED,
    "JOB_STATE_EXPIRED": BatchState.EXPIRED,
}
"""The SDK's names (it renames Gemini's `BATCH_STATE_*`). Gemini has no cancelling state: a
cancelled batch reads as running until it has stopped."""


class GeminiProvider(SdkProvider):
    """Gemini batch mode over uploaded JSONL files, one model per batch."""

    spec: ClassVar[ProviderSpec] = spec_for("gemini")
    name: ClassVar[str] = spec.name
    caps: ClassVar[Caps] = spec.caps
    sdk_errors: ClassVar[tuple[type[Exception], ...]] = (errors.APIError, httpx2.HTTPError)
    unreachable_errors: ClassVar[tuple[type[Exception], ...]] = (httpx2.TransportError,)

    def __init__(
        self, settings: ProviderSettings, *, read_retries: types.HttpRetryOptions = READ_RETRIES
    ) -> None:
        super().__init__(settings)
        options = types.HttpOptions(api_version=API_VERSION, retry_options=read_retries)
        if settings.base_url:
            options.base_url = settings.base_url
        self._client = genai.Client(api_key=settings.api_key, http_options=options)

    @classmethod
    def check_request(cls, request: Request) -> str | None:
        return wire.check_request(request)

    @classmethod
    def wire_size(cls, item: WireItem) -> int:
        return wire.line_size(item)

    @classmethod
    def wire_size_bound(cls, stored_bytes: int, custom_id_bytes: int) -> int:
        return wire.size_bound(stored_bytes, custom_id_bytes)

    def prepare_batch(self, items: Sequence[WireItem], tag: BatchTag) -> PreparedBatch:
        """Write the chunk's JSONL line by line to a temporary file and upload it; a chunk
        mixing models or kinds is refused before anything is sent."""
        if not items:
            raise ProviderCallError(self.name, "a batch needs at least one request")
        first = items[0].decoded()
        with tempfile.TemporaryFile() as spool:
            for item in items:
                request = item.decoded()
                _same_model_and_kind(first, request)
                spool.write(wire.input_line(item.custom_id, request, tag))
            spool.seek(0)
            file_name = self._upload(spool, tag)
        return PreparedBatch(
            tag, len(items), file_id=file_name, endpoint=first.kind.value, model=first.model
        )

    def _upload(self, spool: IO[bytes], tag: BatchTag) -> str:
        config = types.UploadFileConfig(display_name=f"{tag.label()}.jsonl", mime_type="jsonl")
        uploaded = self.call(
            "upload the batch input",
            None,
            lambda: self._client.files.upload(file=spool, config=config),  # type: ignore[arg-type]
        )
        if not uploaded.name:
            raise ProviderCallError(self.name, "the uploaded batch input came back without a name")
        return uploaded.name

    def create_prepared(self, prepared: PreparedBatch) -> str:
        assert prepared.file_id is not None, "a Gemini batch reads an uploaded file"
        file_name = prepared.file_id
        label = prepared.tag.label()
        what = (
            f"create the batch for {label} (it may exist anyway: look it up by its tag before "
            "creating it again)"
        )
        if prepared.endpoint == Kind.EMBEDDING.value:
            embed_config = types.CreateEmbeddingsBatchJobConfig(
                display_name=label, http_options=CREATE_ONCE
            )
            with warnings.catch_warnings():  # the SDK calls embedding batches experimental
                warnings.simplefilter("ignore")
                job = self.call(
                    what,
                    None,
                    lambda: self._client.batches.create_embeddings(
                        model=prepared.model, src={"file_name": file_name}, config=embed_config
                    ),
                )
        else:
            config = types.CreateBatchJobConfig(display_name=label, http_options=CREATE_ONCE)
            job = self.call(
                what,
                None,
                lambda: self._client.batches.create(
                    model=prepared.model, src=file_name, config=config
                ),
            )
        if not job.name:
            raise ProviderCallError(self.name, f"the batch for {label} came back without a name")
        return job.name

    def discard_prepared(self, prepared: PreparedBatch) -> None:
        if prepared.file_id is not None:
            file_name = prepared.file_id
            self.call(
                "delete an unused upload", None, lambda: self._client.files.delete(name=file_name)
            )

    @classmethod
    def http_status(cls, err: Exception) -> int | None:
        return err.code if isinstance(err, errors.APIError) else None

    def describe(self, err: Exception) -> str:
        """An SDK error as one line: HTTP status, Google's status name and message, a hint."""
        if isinstance(err, errors.APIError):
            hint = " — check GEMINI_API_KEY" if err.code in (401, 403) else ""
            return f"HTTP {err.code} {err.status or 'error'}: {err.message}{hint}"
        if isinstance(err, httpx2.HTTPError):
            return f"could not reach Gemini ({err!r}); check the network and the base URL"
        return str(err)

    def probe(self) -> None:
        self._client.batches.list(config={"page_size": 1})

    def request_cancel(self, batch_id: str) -> None:
        self._client.batches.cancel(name=batch_id)

    def find_batch(
        self, tag: BatchTag, created_after: datetime, hints: LookupHints | None = None
    ) -> str | None:
        """The newest batch whose display name is `tag`'s label, created since `created_after`.

        Pages are read until one holds only batches created before then (Gemini lists newest
        first; a page is read whole in case that order is loose).
        """
        since = aware(created_after) - CLOCK_SLACK
        label = tag.label()
        pager = self.call(
            "list batches",
            None,
            lambda: self._client.batches.list(config={"page_size": LIST_PAGE_SIZE}),
        )
        while True:
            recent = [
                job for job in pager.page if job.create_time and aware(job.create_time) >= since
            ]
            for job in recent:
                if job.display_name == label and job.name:
                    return job.name
            if not recent or not pager.config.get("page_token"):
                return None
            self.call("list batches", None, pager.next_page)

    def status(self, batch_id: str) -> BatchStatus:
        return batch_status(self._get(batch_id))

    def results(self, batch_id: str) -> Iterator[Result]:
        """The responses file's lines, each with the tag its key carries (`Result.tag`), so the
        collector can refuse a line of another batch."""
        job = self._get(batch_id)
        file_name = job.dest.file_name if job.dest else None
        if not file_name:
            return
        for line in self._lines(batch_id, file_name):
            result = wire.parse_result_line(line, batch_id)
            if result is not None:
                yield result

    def _get(self, batch_id: str) -> types.BatchJob:
        return self.call(
            "read the batch", batch_id, lambda: self._client.batches.get(name=batch_id)
        )

    def _lines(self, batch_id: str, file_name: str) -> Iterator[bytes]:
        """The file's non-blank lines: downloaded to a temporary file (the SDK writes it in
        blocks), then read a line at a time, so memory does not grow with the file."""
        with tempfile.TemporaryFile() as spool:
            self._download(batch_id, file_name, spool)
            spool.seek(0)
            for line in spool:
                if line.strip():
                    yield line

    def _download(self, batch_id: str, file_name: str, spool: IO[bytes]) -> None:
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            spool.seek(0)
            spool.truncate()
            try:
                self._client.files.download(file=file_name, destination=spool)  # type: ignore[call-overload]
                return
            except self.sdk_errors as err:
                if not self.transient(err) or attempt == DOWNLOAD_ATTEMPTS:
                    raise self.failure(f"download {file_name}", batch_id, err) from err
                time.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))


def batch_status(job: types.BatchJob) -> BatchStatus:
    """Our status for a Gemini batch.

    An unknown (future) state reads as still running: polling a finished batch once more costs
    nothing, while taking a running batch for finished could lead to paying twice. The SDK does
    not pass on Gemini's request counts, so they read as zero.
    """
    raw = job.state.value if job.state is not None else "JOB_STATE_UNSPECIFIED"
    error = job.error
    errors_ = (f"{error.message}",) if error is not None and error.message else ()
    return BatchStatus(
        batch_id=job.name or "",
        state=STATES.get(raw, BatchState.RUNNING),
        raw_status=raw,
        total=0,
        succeeded=0,
        failed=0,
        errors=errors_,
    )


def _same_model_and_kind(first: Request, request: Request) -> None:
    """A Gemini batch runs one model (named in its URL), so a chunk must not mix models, nor
    chat with embeddings (they are created by different calls)."""
    if (request.model, request.kind) != (first.model, first.kind):
        raise ProviderCallError(
            "gemini",
            f"a Gemini batch runs one model on one kind of request, but request "
            f"{request.id!r} (line {request.line}) asks {request.model} for {request.kind} "
            f"and the first asks {first.model} for {first.kind}; plan chunks per model and kind",
        )
