"""The OpenAI Batch API handlers: create (validating the input file), retrieve, list, cancel,
and the result files written once a batch ends."""

from __future__ import annotations

import hashlib
import string
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchgraph.sandbox.clock import Phase, Progress, Timeline, progress
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.openai_http import (
    FILE_TTL,
    invalid,
    list_page,
    not_found,
    query_limit,
)
from batchgraph.sandbox.openai_input import InputCheck, Limits, check_input
from batchgraph.sandbox.openai_output import RESPONDERS, write_results
from batchgraph.sandbox.personalities import Personality, window_seconds
from batchgraph.sandbox.storage import BatchRecord, Creation, FileRecord

KNOWN_ENDPOINTS = {
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
}
STATUS = {
    Phase.VALIDATING: "validating",
    Phase.RUNNING: "in_progress",
    Phase.FINALIZING: "finalizing",
    Phase.COMPLETED: "completed",
    Phase.EXPIRED: "expired",
    Phase.CANCELLING: "cancelling",
    Phase.CANCELLED: "cancelled",
}
TIMESTAMP = {
    Phase.RUNNING: "in_progress_at",
    Phase.FINALIZING: "finalizing_at",
    Phase.COMPLETED: "completed_at",
    Phase.EXPIRED: "expired_at",
    Phase.CANCELLING: "cancelling_at",
    Phase.CANCELLED: "cancelled_at",
}


class Batches:
    """The Batch API handlers, sharing one context."""

    def __init__(self, ctx: SandboxContext, personality: Personality) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.host = personality

    async def create_batch(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return invalid("The request body is not valid JSON.")
        if not isinstance(body, dict):
            return invalid("The request body must be a JSON object.")
        refusal = self._refuse_create(body)
        if refusal is not None:
            return refusal
        source = self.store.get_file(self.host.name, body["input_file_id"])
        if source is None:
            return not_found(f"No such File object: {body['input_file_id']}", "input_file_id")
        if source.purpose != self.host.batch_purpose:
            return invalid(
                f"The input file must have been uploaded with purpose '{self.host.batch_purpose}'."
            )
        try:
            config = self.ctx.config.with_headers(request.headers)
        except ValueError as err:
            return invalid(str(err))
        endpoint = body["endpoint"]
        check = await run_in_threadpool(
            check_input,
            self.store.file_path(source.id),
            source.bytes,
            endpoint,
            Limits(self.host.max_requests, self.host.max_bytes) if config.enforce_limits else None,
            canonical_endpoint(self.host, endpoint),
        )
        created = self.ctx.now()
        errors = check.errors or self._over_token_limit(config, check, created)
        record = BatchRecord(
            id="batch_" + uuid.uuid4().hex,
            provider=self.host.name,
            timeline=Timeline.plan(config, created, window_seconds(body["completion_window"])),
            config=config,
            spec={
                "endpoint": endpoint,
                "input_file_id": source.id,
                "completion_window": body["completion_window"],
                "metadata": body.get("metadata"),
                "model": check.model,
                "total": check.total,
                "tokens": check.tokens,
                "errors": errors or None,
            },
        )
        self.store.add_batch(
            record, Creation(self.host.name, record.id, created, check.total, body.get("metadata"))
        )
        initial = Progress(Phase.VALIDATING, 0.0, {Phase.VALIDATING: 0.0})
        return JSONResponse(self._batch_json(record, initial))

    def _over_token_limit(
        self, config: SandboxConfig, check: InputCheck, now: float
    ) -> list[dict[str, Any]]:
        """The `token_limit_exceeded` error when this batch's prompt tokens and those of the
        model's batches still running pass `enqueued_token_limit`; else none."""
        limit = config.enqueued_token_limit
        if limit <= 0 or check.model is None:
            return []
        enqueued = 0
        after = None
        while True:
            page = self.store.list_batches(self.host.name, limit=100, after=after)
            for record in page.items:
                state = self._progress(record, now)
                running = not state.phase.terminal and not self._failed(record, state)
                if running and not record.spec["errors"] and record.spec["model"] == check.model:
                    enqueued += int(record.spec.get("tokens", 0))
            if not page.has_more or not page.items:
                break
            after = page.items[-1].id
        if enqueued + check.tokens <= limit:
            return []
        message = (
            f"Enqueued token limit reached for {check.model} in organization org-sandbox. "
            f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress batches "
            "have been completed."
        )
        return [{"code": "token_limit_exceeded", "message": message, "param": None, "line": None}]

    def _refuse_create(self, body: dict[str, Any]) -> Response | None:
        for key in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(key), str):
                return invalid(f"Missing required parameter: '{key}'.", key)
        endpoint = canonical_endpoint(self.host, body["endpoint"])
        if endpoint not in KNOWN_ENDPOINTS:
            return invalid(f"Invalid value for 'endpoint': {body['endpoint']!r}.", "endpoint")
        if endpoint not in RESPONDERS:
            runs = ", ".join(sorted(self.host.batch_url_root + e[3:] for e in RESPONDERS))
            return invalid(f"The sandbox runs batches for {runs} only.", "endpoint")
        windows = self.host.completion_windows
        if body["completion_window"] not in windows:
            return invalid(
                f"Invalid value for 'completion_window': {body['completion_window']!r}; "
                f"supported: {', '.join(windows)}.",
                "completion_window",
            )
        metadata = body.get("metadata")
        if metadata is not None and not _valid_metadata(metadata):
            return invalid(
                "metadata must hold at most 16 string pairs (keys ≤64, values ≤512 characters).",
                "metadata",
            )
        return None

    async def retrieve_batch(self, request: Request) -> Response:
        record = self.store.get_batch(self.host.name, request.path_params["batch_id"])
        if record is None:
            return self._no_batch(request.path_params["batch_id"])
        return JSONResponse(await self._render(record))

    async def list_batches(self, request: Request) -> Response:
        limit = query_limit(request, 20, 100)
        if limit is None:
            return invalid("limit must be an integer between 1 and 100.", "limit")
        page = self.store.list_batches(
            self.host.name, limit=limit, after=request.query_params.get("after")
        )
        items = [await self._render(r) for r in page.items]
        return JSONResponse(list_page(items, page.has_more))

    async def cancel_batch(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        record = self.store.get_batch(self.host.name, batch_id)
        if record is None:
            return self._no_batch(batch_id)
        now = self.ctx.now()
        state = self._progress(record, now)
        if state.phase.terminal or self._failed(record, state):
            return invalid(
                f"Cannot cancel a batch with status '{self._status(record, state)}'.", "batch_id"
            )
        if record.cancel_requested is None:
            self.store.request_cancel(self.host.name, batch_id, now)
        record = self.store.get_batch(self.host.name, batch_id) or record
        return JSONResponse(await self._render(record))

    @staticmethod
    def _no_batch(batch_id: str) -> Response:
        return not_found(f"No batch found with id '{batch_id}'.", "batch_id")

    # -- rendering ----------------------------------------------------------------------------

    def _progress(self, record: BatchRecord, now: float) -> Progress:
        return progress(record.timeline, now, record.cancel_requested)

    @staticmethod
    def _failed(record: BatchRecord, state: Progress) -> bool:
        """Validation found problems and is over: the batch failed instead of running."""
        return bool(record.spec["errors"]) and Phase.RUNNING in state.events

    def _status(self, record: BatchRecord, state: Progress) -> str:
        return "failed" if self._failed(record, state) else STATUS[state.phase]

    async def _render(self, record: BatchRecord) -> dict[str, Any]:
        state = self._progress(record, self.ctx.now())
        outcome = None
        if state.phase.terminal and not self._failed(record, state):
            outcome = await run_in_threadpool(
                self.ctx.settle, record, lambda r: self._produce(r, state)
            )
        return self._batch_json(record, state, outcome)

    def _batch_json(
        self, record: BatchRecord, state: Progress, outcome: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        spec = record.spec
        created = int(record.timeline.created)
        batch: dict[str, Any] = {
            "id": record.id,
            "object": "batch",
            "endpoint": spec["endpoint"],
            "model": None,
            "errors": None,
            "input_file_id": spec["input_file_id"],
            "completion_window": spec["completion_window"],
            "status": self._status(record, state),
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created,
            "in_progress_at": None,
            "expires_at": created + window_seconds(spec["completion_window"]),
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": None,
            "metadata": spec["metadata"],
        }
        if self._failed(record, state):
            batch["errors"] = {"object": "list", "data": spec["errors"]}
            batch["failed_at"] = created + int(record.timeline.validating)
            return batch
        for phase, offset in state.events.items():
            if phase in TIMESTAMP:
                batch[TIMESTAMP[phase]] = created + int(offset)
        if Phase.RUNNING in state.events:
            batch["model"] = spec["model"]
            batch["request_counts"] = self._running_counts(record, state)
        if outcome is not None:
            batch.update(
                output_file_id=outcome["output_file_id"],
                error_file_id=outcome["error_file_id"],
                request_counts=outcome["request_counts"],
                usage=outcome["usage"],
            )
        return batch

    @staticmethod
    def _running_counts(record: BatchRecord, state: Progress) -> dict[str, int]:
        total = int(record.spec["total"])
        # An estimate from the shares, as the real API's running counts are approximate too.
        done = int(total * state.done_share * (1 - record.config.straggle_rate))
        failed = int(done * record.config.failure_rate)
        return {"total": total, "completed": done - failed, "failed": failed}

    def _produce(self, record: BatchRecord, state: Progress) -> dict[str, Any]:
        """Write the output and error files of a batch that just ended."""
        output_id = "file-" + _derived(record.id, "output")
        error_id = "file-" + _derived(record.id, "error")
        end = int(record.timeline.created + max(state.events.values()))
        with self.store.writing(output_id) as out, self.store.writing(error_id) as err:
            tally = write_results(
                self.store.file_path(record.spec["input_file_id"]),
                out,
                err,
                batch_id=record.id,
                endpoint=canonical_endpoint(self.host, record.spec["endpoint"]),
                fates=Fates(record.config),
                done_share=state.done_share,
                unfinished="cancelled" if state.phase is Phase.CANCELLED else "expired",
                created=end,
            )
            sizes = out.tell(), err.tell()
        kept: dict[str, str | None] = {}
        for file_id, kind, size in ((output_id, "output", sizes[0]), (error_id, "error", sizes[1])):
            if size == 0:
                self.store.file_path(file_id).unlink(missing_ok=True)
                kept[kind] = None
                continue
            self.store.add_file(
                FileRecord(
                    file_id,
                    self.host.name,
                    end,
                    f"batch_{record.id}_{kind}.jsonl",
                    "batch_output",
                    size,
                    {"expires_at": end + FILE_TTL},
                )
            )
            kept[kind] = file_id
        return {
            "output_file_id": kept["output"],
            "error_file_id": kept["error"],
            "request_counts": {
                "total": int(record.spec["total"]),
                "completed": tally.completed,
                "failed": tally.failed,
            },
            "usage": tally.usage(),
        }


def _derived(batch_id: str, kind: str) -> str:
    """A file id determined by the batch, so every process writing its results agrees on it."""
    alphabet = string.ascii_letters + string.digits
    digest = hashlib.blake2b(f"{batch_id}:{kind}".encode(), digest_size=22).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest)


def _valid_metadata(metadata: Any) -> bool:
    return (
        isinstance(metadata, dict)
        and len(metadata) <= 16
        and all(
            isinstance(k, str) and len(k) <= 64 and isinstance(v, str) and len(v) <= 512
            for k, v in metadata.items()
        )
    )


def canonical_endpoint(host: Personality, endpoint: str) -> str:
    """The OpenAI endpoint a host's batch endpoint stands for (Azure's `/chat/completions` is
    `/v1/chat/completions`); what does not start with the host's root is left as it is."""
    root = host.batch_url_root
    if root != "/v1" and endpoint.startswith(root + "/"):
        return "/v1" + endpoint.removeprefix(root)
    return endpoint
