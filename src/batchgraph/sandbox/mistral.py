"""The sandbox's Mistral endpoints: `/v1/files…` and `/v1/batch/jobs…`, as `mistralai` calls them.

Served under the `/mistral` prefix; give the SDK `server_url=<sandbox>/mistral` (it adds `/v1`).
Every JSON answer matches the SDK's pydantic models and the spec's schemas exactly, because the
SDK rejects any mismatch. Shapes live in `mistral_files` and `mistral_jobs`; checks of a create
call in `mistral_create`; per-request answers and result lines in `mistral_lines`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox import mistral_files as files
from batchgraph.sandbox import mistral_jobs as jobs
from batchgraph.sandbox import mistral_sync, models
from batchgraph.sandbox.clock import Timeline
from batchgraph.sandbox.context import ErrorKind, SandboxContext
from batchgraph.sandbox.mistral_create import check_body, ingest
from batchgraph.sandbox.mistral_errors import (
    MistralRefusal,
    error_body,
    invalid,
    invalid_query,
    not_found,
    refused,
)
from batchgraph.sandbox.mistral_query import check_choices, query_bool, query_int
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.signing import signed_query
from batchgraph.sandbox.storage import BatchRecord, Creation

PROVIDER = files.PROVIDER
HOUR = 3600
LIST_KEYS = frozenset(
    {
        "page",
        "page_size",
        "model",
        "agent_id",
        "created_after",
        "created_by_me",
        "status",
        "order_by",
        "metadata",
    }
)
"""Query keys of the jobs list call; any other key is a flattened metadata filter."""

_KINDS = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.UNAUTHORIZED: "authentication_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.SERVER_ERROR: "internal_server_error",
}

Handler = Callable[[Request], Awaitable[Response]]


def error_response(
    status: int, kind: ErrorKind, message: str, *, param: str | None = None
) -> Response:
    """An error in Mistral's shape (the gateway's for 401 and 429)."""
    return JSONResponse(error_body(status, message, _KINDS[kind]), status_code=status)


def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
    """The API under its one personality, whose name is this module's store namespace."""
    endpoints = _Endpoints(ctx)
    return [
        Route("/v1/files", _answering(endpoints.upload_file), methods=["POST"]),
        Route("/v1/files", _answering(endpoints.list_files), methods=["GET"]),
        Route("/v1/files/{file_id}", _answering(endpoints.get_file), methods=["GET"]),
        Route("/v1/files/{file_id}", _answering(endpoints.delete_file), methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", _answering(endpoints.download), methods=["GET"]),
        Route("/v1/files/{file_id}/url", _answering(endpoints.signed_url), methods=["GET"]),
        Route("/v1/batch/jobs", _answering(endpoints.create_job), methods=["POST"]),
        Route("/v1/batch/jobs", _answering(endpoints.list_jobs), methods=["GET"]),
        Route("/v1/batch/jobs/{job_id}", _answering(endpoints.get_job), methods=["GET"]),
        Route("/v1/batch/jobs/{job_id}", _answering(endpoints.delete_job), methods=["DELETE"]),
        Route("/v1/batch/jobs/{job_id}/cancel", _answering(endpoints.cancel_job), methods=["POST"]),
        *mistral_sync.routes(ctx),
        models.route(models.mistral_list()),
    ]


def _answering(handler: Handler) -> Handler:
    """Turn a `MistralRefusal` raised anywhere in the handler into its error response."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except MistralRefusal as refusal:
            return refusal.response()

    return endpoint


class _Endpoints:
    """The route handlers; each parses its call and hands the work to a shape module."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    # -- files --------------------------------------------------------------------------------

    async def upload_file(self, request: Request) -> Response:
        async with request.form(max_files=1) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise invalid(["file"], "Field required", "missing")
            checked = files.check_upload_form(
                form.get("purpose"), form.get("visibility"), form.get("expiry")
            )
            record = await run_in_threadpool(
                files.store_upload,
                self.store,
                str(uuid.uuid4()),
                upload.filename or "upload",
                upload.content_type,
                upload.file,
                checked,
                self.ctx.now(),
                self.ctx.config.with_headers(request.headers).enforce_limits,
            )
        return JSONResponse(files.file_json(record))

    async def list_files(self, request: Request) -> Response:
        query = request.query_params
        page = query_int("page", query.get("page"), 0)
        page_size = query_int("page_size", query.get("page_size"), 100, low=1)
        purpose = query.get("purpose") or None
        if purpose is not None:
            check_choices("purpose", [purpose], files.PURPOSES)
        wanted = files.FileFilter(
            purpose=purpose,
            sample_types=check_choices(
                "sample_type", query.getlist("sample_type"), files.SAMPLE_TYPES
            ),
            sources=check_choices("source", query.getlist("source"), files.SOURCES),
            mimetypes=tuple(query.getlist("mimetypes")),
            search=query.get("search") or None,
        )
        items, total = await run_in_threadpool(
            files.list_files, self.store, page, page_size, wanted, self.ctx.now()
        )
        include_total = query_bool("include_total", query.get("include_total"), True)
        return JSONResponse(
            {
                "data": [files.file_json(r) for r in items],
                "object": "list",
                "total": total if include_total else None,
            }
        )

    async def get_file(self, request: Request) -> Response:
        record = files.live_file(self.store, request.path_params["file_id"], self.ctx.now())
        return JSONResponse(files.file_json(record, deleted=False))

    async def delete_file(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        files.live_file(self.store, file_id, self.ctx.now())
        self.store.delete_file(PROVIDER, file_id)
        return JSONResponse({"id": file_id, "object": "file", "deleted": True})

    async def download(self, request: Request) -> Response:
        record = files.live_file(self.store, request.path_params["file_id"], self.ctx.now())
        return FileResponse(
            self.store.file_path(record.id),
            media_type="application/octet-stream",
            content_disposition_type="attachment",
            filename=record.filename,
        )

    async def signed_url(self, request: Request) -> Response:
        record = files.live_file(self.store, request.path_params["file_id"], self.ctx.now())
        hours = query_int("expiry", request.query_params.get("expiry"), 24, 1, 168)
        expires = int(self.ctx.now()) + hours * HOUR
        link = request.url.replace(
            path=request.url.path.removesuffix("/url") + "/content",
            query=signed_query(record.id, expires),
        )
        return JSONResponse({"url": str(link)})

    # -- batch jobs ---------------------------------------------------------------------------

    async def create_job(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            raise refused("The request body is not valid JSON") from None
        spec = check_body(body)
        try:
            config = self.ctx.config.with_headers(request.headers)
        except ValueError as err:
            raise refused(str(err)) from None
        job_id = str(uuid.uuid4())
        created = self.ctx.now()
        total = await run_in_threadpool(ingest, self.store, spec, job_id, config)
        record = BatchRecord(
            id=job_id,
            provider=PROVIDER,
            timeline=Timeline.plan(config, created, spec.timeout_hours * HOUR),
            config=config,
            spec=spec.to_json(total),
        )
        creation = Creation(PROVIDER, job_id, created, total, spec.metadata)
        self.store.add_batch(record, creation)
        return JSONResponse(jobs.job_json(self.ctx, record, queued=True))

    async def list_jobs(self, request: Request) -> Response:
        query = request.query_params
        page = query_int("page", query.get("page"), 0)
        page_size = query_int("page_size", query.get("page_size"), 100, low=1)
        order = query.get("order_by") or "-created"
        if order not in ("created", "-created"):
            raise invalid_query(
                "order_by", "Input should be 'created' or '-created'", "enum", order
            )
        query_bool("created_by_me", query.get("created_by_me"), False)
        wanted = jobs.JobFilter(
            model=query.get("model"),
            agent_id=query.get("agent_id"),
            metadata=tuple((k, v) for k, v in query.multi_items() if k not in LIST_KEYS),
            created_after=_created_after(query.get("created_after")),
            statuses=check_choices("status", query.getlist("status"), jobs.ALL_STATUSES),
        )
        found, total = await run_in_threadpool(
            jobs.list_jobs, self.ctx, page, page_size, wanted, order == "-created"
        )
        data = [await run_in_threadpool(jobs.job_json, self.ctx, r) for r in found]
        return JSONResponse({"data": data, "object": "list", "total": total})

    async def get_job(self, request: Request) -> Response:
        record = self._job(request)
        inline = query_bool("inline", request.query_params.get("inline"), False)
        job = await run_in_threadpool(jobs.job_json, self.ctx, record, inline=inline)
        return JSONResponse(job)

    async def cancel_job(self, request: Request) -> Response:
        record = self._job(request)
        self.store.request_cancel(PROVIDER, record.id, self.ctx.now())
        record = self._job(request)
        return JSONResponse(await run_in_threadpool(jobs.job_json, self.ctx, record))

    async def delete_job(self, request: Request) -> Response:
        record = self._job(request)
        self.store.delete_batch(PROVIDER, record.id)
        return JSONResponse({"id": record.id, "object": "batch", "deleted": True})

    def _job(self, request: Request) -> BatchRecord:
        job_id = request.path_params["job_id"]
        record = self.store.get_batch(PROVIDER, job_id)
        if record is None:
            raise not_found("Batch job", job_id)
        return record


def _created_after(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = "Input should be a valid datetime"
        raise invalid_query("created_after", msg, "datetime_parsing", value) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
