"""The OpenAI Files and Batch APIs (`/openai/v1/...`): what the `openai` SDK calls, with the real
status names, timestamps, error bodies and result-file envelopes."""

from __future__ import annotations

import hashlib
import secrets
import string
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox.clock import Phase, Progress, Timeline, progress
from batchgraph.sandbox.context import ErrorKind, SandboxContext
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.openai_input import check_input
from batchgraph.sandbox.openai_output import RESPONDERS, write_results
from batchgraph.sandbox.storage import BatchRecord, Creation, FileRecord

NAME = "openai"
WINDOW = 24 * 3600
FILE_TTL = 30 * 24 * 3600
UPLOAD_PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}
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
_ERROR_TYPES = {
    ErrorKind.INVALID_REQUEST: ("invalid_request_error", None),
    ErrorKind.UNAUTHORIZED: ("invalid_request_error", "invalid_api_key"),
    ErrorKind.NOT_FOUND: ("invalid_request_error", None),
    ErrorKind.RATE_LIMITED: ("requests", "rate_limit_exceeded"),
    ErrorKind.SERVER_ERROR: ("server_error", None),
}


def error_response(
    status: int, kind: ErrorKind, message: str, *, param: str | None = None
) -> Response:
    """OpenAI's `{"error": {message, type, param, code}}` body."""
    kind_name, code = _ERROR_TYPES[kind]
    body = {"error": {"message": message, "type": kind_name, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers={"x-request-id": _request_id()})


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    api = _OpenAI(ctx)
    return [
        Route("/v1/files", api.upload_file, methods=["POST"]),
        Route("/v1/files", api.list_files, methods=["GET"]),
        Route("/v1/files/{file_id}", api.retrieve_file, methods=["GET"]),
        Route("/v1/files/{file_id}", api.delete_file, methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", api.file_content, methods=["GET"]),
        Route("/v1/batches", api.create_batch, methods=["POST"]),
        Route("/v1/batches", api.list_batches, methods=["GET"]),
        Route("/v1/batches/{batch_id}", api.retrieve_batch, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", api.cancel_batch, methods=["POST"]),
    ]


def _request_id() -> str:
    return "req_" + uuid.uuid4().hex


def _file_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "file-" + "".join(secrets.choice(alphabet) for _ in range(22))


def _invalid(message: str, param: str | None = None) -> Response:
    return error_response(400, ErrorKind.INVALID_REQUEST, message, param=param)


def _not_found(message: str, param: str) -> Response:
    return error_response(404, ErrorKind.NOT_FOUND, message, param=param)


def _limit(request: Request, default: int, maximum: int) -> int | None:
    raw = request.query_params.get("limit")
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return None
    return value if 1 <= value <= maximum else None


def _file_json(record: FileRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "file",
        "bytes": record.bytes,
        "created_at": record.created_at,
        "expires_at": record.meta.get("expires_at"),
        "filename": record.filename,
        "purpose": record.purpose,
        "status": "processed",
        "status_details": None,
    }


def _page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


class _OpenAI:
    """The route handlers, sharing one context."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    # -- files --------------------------------------------------------------------------------

    async def upload_file(self, request: Request) -> Response:
        async with request.form(max_files=1) as form:
            purpose = form.get("purpose")
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return _invalid("Missing file: send it as the multipart field 'file'.", "file")
            if purpose not in UPLOAD_PURPOSES:
                choices = ", ".join(sorted(UPLOAD_PURPOSES))
                message = f"Invalid purpose {purpose!r}; expected one of {choices}."
                return _invalid(message, "purpose")
            ttl = form.get("expires_after[seconds]")
            now = int(self.ctx.now())
            record = FileRecord(
                id=_file_id(),
                provider=NAME,
                created_at=now,
                filename=upload.filename or "upload.jsonl",
                purpose=str(purpose),
                bytes=0,
                meta={"expires_at": now + (int(str(ttl)) if ttl else FILE_TTL)},
            )
            size = await run_in_threadpool(self._save_upload, record.id, upload)
        record = FileRecord(**{**_fields(record), "bytes": size})
        self.store.add_file(record)
        return JSONResponse(_file_json(record))

    def _save_upload(self, file_id: str, upload: UploadFile) -> int:
        size = 0
        with self.store.writing(file_id) as out:
            while chunk := upload.file.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
        return size

    async def list_files(self, request: Request) -> Response:
        limit = _limit(request, 10_000, 10_000)
        if limit is None:
            return _invalid("limit must be an integer between 1 and 10000.", "limit")
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            return _invalid("order must be 'asc' or 'desc'.", "order")
        page = self.store.list_files(
            NAME,
            limit=limit,
            after=request.query_params.get("after"),
            purpose=request.query_params.get("purpose"),
            newest_first=order == "desc",
        )
        return JSONResponse(_page([_file_json(f) for f in page.items], page.has_more))

    async def retrieve_file(self, request: Request) -> Response:
        record = self.store.get_file(NAME, request.path_params["file_id"])
        if record is None:
            return self._no_file(request.path_params["file_id"])
        return JSONResponse(_file_json(record))

    async def delete_file(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        if not self.store.delete_file(NAME, file_id):
            return self._no_file(file_id)
        return JSONResponse({"id": file_id, "object": "file", "deleted": True})

    async def file_content(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        record = self.store.get_file(NAME, file_id)
        if record is None:
            return self._no_file(file_id)
        return FileResponse(self.store.file_path(file_id), media_type="application/octet-stream")

    @staticmethod
    def _no_file(file_id: str) -> Response:
        return _not_found(f"No such File object: {file_id}", "file_id")

    # -- batches ------------------------------------------------------------------------------

    async def create_batch(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _invalid("The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _invalid("The request body must be a JSON object.")
        refusal = self._refuse_create(body)
        if refusal is not None:
            return refusal
        source = self.store.get_file(NAME, body["input_file_id"])
        if source is None:
            return _not_found(f"No such File object: {body['input_file_id']}", "input_file_id")
        if source.purpose != "batch":
            return _invalid("The input file must have been uploaded with purpose 'batch'.")
        try:
            config = self.ctx.config.with_headers(request.headers)
        except ValueError as err:
            return _invalid(str(err))
        endpoint = body["endpoint"]
        check = await run_in_threadpool(
            check_input,
            self.store.file_path(source.id),
            source.bytes,
            endpoint,
            config.enforce_limits,
        )
        created = self.ctx.now()
        record = BatchRecord(
            id="batch_" + uuid.uuid4().hex,
            provider=NAME,
            timeline=Timeline.plan(config, created, WINDOW),
            config=config,
            spec={
                "endpoint": endpoint,
                "input_file_id": source.id,
                "completion_window": body["completion_window"],
                "metadata": body.get("metadata"),
                "model": check.model,
                "total": check.total,
                "errors": check.errors or None,
            },
        )
        self.store.add_batch(
            record, Creation(NAME, record.id, created, check.total, body.get("metadata"))
        )
        initial = Progress(Phase.VALIDATING, 0.0, {Phase.VALIDATING: 0.0})
        return JSONResponse(self._batch_json(record, initial))

    @staticmethod
    def _refuse_create(body: dict[str, Any]) -> Response | None:
        for key in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(key), str):
                return _invalid(f"Missing required parameter: '{key}'.", key)
        if body["endpoint"] not in KNOWN_ENDPOINTS:
            return _invalid(f"Invalid value for 'endpoint': {body['endpoint']!r}.", "endpoint")
        if body["endpoint"] not in RESPONDERS:
            runs = ", ".join(sorted(RESPONDERS))
            return _invalid(f"The sandbox runs batches for {runs} only.", "endpoint")
        if body["completion_window"] != "24h":
            return _invalid(
                "Invalid value for 'completion_window': only '24h' is supported.",
                "completion_window",
            )
        metadata = body.get("metadata")
        if metadata is not None and not _valid_metadata(metadata):
            return _invalid(
                "metadata must hold at most 16 string pairs (keys ≤64, values ≤512 characters).",
                "metadata",
            )
        return None

    async def retrieve_batch(self, request: Request) -> Response:
        record = self.store.get_batch(NAME, request.path_params["batch_id"])
        if record is None:
            return self._no_batch(request.path_params["batch_id"])
        return JSONResponse(await self._render(record))

    async def list_batches(self, request: Request) -> Response:
        limit = _limit(request, 20, 100)
        if limit is None:
            return _invalid("limit must be an integer between 1 and 100.", "limit")
        page = self.store.list_batches(NAME, limit=limit, after=request.query_params.get("after"))
        items = [await self._render(r) for r in page.items]
        return JSONResponse(_page(items, page.has_more))

    async def cancel_batch(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        record = self.store.get_batch(NAME, batch_id)
        if record is None:
            return self._no_batch(batch_id)
        now = self.ctx.now()
        state = self._progress(record, now)
        if state.phase.terminal or self._failed(record, state):
            return _invalid(
                f"Cannot cancel a batch with status '{self._status(record, state)}'.", "batch_id"
            )
        if record.cancel_requested is None:
            self.store.request_cancel(NAME, batch_id, now)
        record = self.store.get_batch(NAME, batch_id) or record
        return JSONResponse(await self._render(record))

    @staticmethod
    def _no_batch(batch_id: str) -> Response:
        return _not_found(f"No batch found with id '{batch_id}'.", "batch_id")

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
            "expires_at": created + WINDOW,
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
        done = int(total * state.done_share)
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
                endpoint=record.spec["endpoint"],
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
                    NAME,
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


def _fields(record: FileRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
