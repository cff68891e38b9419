"""The OpenAI Files and Batch APIs (`/openai/v1/...`): what the `openai` SDK calls, with the real
status names, timestamps, error bodies and result-file envelopes. Files are served here; batches
in `openai_batches`."""

from __future__ import annotations

import secrets
import string
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox import models, openai_sync
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.openai_batches import Batches
from batchgraph.sandbox.openai_http import (
    FILE_TTL,
    error_response,
    invalid,
    list_page,
    not_found,
    query_limit,
)
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.storage import FileRecord

UPLOAD_PURPOSES = {"assistants", "fine-tune", "vision", "user_data", "evals"}
"""Purposes besides the personality's own for batch input files."""


def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
    """The Files and Batch APIs as `personality` serves them (OpenAI itself or a host of its
    protocol: its own paths, caps and windows, and its files and batches kept apart)."""
    files, batches = Files(ctx, personality), Batches(ctx, personality)
    root = personality.api_root
    routes: list[BaseRoute] = [
        Route(f"{root}/files", files.upload_file, methods=["POST"]),
        Route(f"{root}/files", files.list_files, methods=["GET"]),
        Route(f"{root}/files/{{file_id}}", files.retrieve_file, methods=["GET"]),
        Route(f"{root}/files/{{file_id}}", files.delete_file, methods=["DELETE"]),
        Route(f"{root}/files/{{file_id}}/content", files.file_content, methods=["GET"]),
        Route(f"{root}/batches", batches.create_batch, methods=["POST"]),
        Route(f"{root}/batches", batches.list_batches, methods=["GET"]),
        Route(f"{root}/batches/{{batch_id}}", batches.retrieve_batch, methods=["GET"]),
        Route(f"{root}/batches/{{batch_id}}/cancel", batches.cancel_batch, methods=["POST"]),
        *openai_sync.routes(ctx, personality),
        models.route(models.openai_list(), f"{root}/models"),
    ]
    if personality.api_version:
        routes = [_with_api_version(route) for route in routes]
    return routes


def _with_api_version(route: BaseRoute) -> BaseRoute:
    """The route, refusing calls without an `api-version` query parameter (as Azure does)."""
    assert isinstance(route, Route)
    handler = route.endpoint

    async def versioned(request: Request) -> Response:
        if not request.query_params.get("api-version"):
            return invalid("Missing required query parameter 'api-version'.", "api-version")
        response: Response = await handler(request)
        return response

    return Route(route.path, versioned, methods=list(route.methods or ()))


def _file_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "file-" + "".join(secrets.choice(alphabet) for _ in range(22))


def file_json(record: FileRecord) -> dict[str, Any]:
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


class Files:
    """The Files API handlers."""

    def __init__(self, ctx: SandboxContext, personality: Personality) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.host = personality

    async def upload_file(self, request: Request) -> Response:
        async with request.form(max_files=1) as form:
            purpose = form.get("purpose")
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return invalid("Missing file: send it as the multipart field 'file'.", "file")
            purposes = UPLOAD_PURPOSES | {self.host.batch_purpose}
            if purpose not in purposes:
                choices = ", ".join(sorted(purposes))
                message = f"Invalid purpose {purpose!r}; expected one of {choices}."
                return invalid(message, "purpose")
            ttl = form.get("expires_after[seconds]")
            now = int(self.ctx.now())
            record = FileRecord(
                id=_file_id(),
                provider=self.host.name,
                created_at=now,
                filename=upload.filename or "upload.jsonl",
                purpose=str(purpose),
                bytes=0,
                meta={"expires_at": now + (int(str(ttl)) if ttl else FILE_TTL)},
            )
            size = await run_in_threadpool(self._save_upload, record.id, upload)
        record = FileRecord(**{**_fields(record), "bytes": size})
        self.store.add_file(record)
        return JSONResponse(file_json(record))

    def _save_upload(self, file_id: str, upload: UploadFile) -> int:
        size = 0
        with self.store.writing(file_id) as out:
            while chunk := upload.file.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
        return size

    async def list_files(self, request: Request) -> Response:
        limit = query_limit(request, 10_000, 10_000)
        if limit is None:
            return invalid("limit must be an integer between 1 and 10000.", "limit")
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            return invalid("order must be 'asc' or 'desc'.", "order")
        page = self.store.list_files(
            self.host.name,
            limit=limit,
            after=request.query_params.get("after"),
            purpose=request.query_params.get("purpose"),
            newest_first=order == "desc",
        )
        return JSONResponse(list_page([file_json(f) for f in page.items], page.has_more))

    async def retrieve_file(self, request: Request) -> Response:
        record = self.store.get_file(self.host.name, request.path_params["file_id"])
        if record is None:
            return self._no_file(request.path_params["file_id"])
        return JSONResponse(file_json(record))

    async def delete_file(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        if not self.store.delete_file(self.host.name, file_id):
            return self._no_file(file_id)
        return JSONResponse({"id": file_id, "object": "file", "deleted": True})

    async def file_content(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        record = self.store.get_file(self.host.name, file_id)
        if record is None:
            return self._no_file(file_id)
        return FileResponse(self.store.file_path(file_id), media_type="application/octet-stream")

    @staticmethod
    def _no_file(file_id: str) -> Response:
        return not_found(f"No such File object: {file_id}", "file_id")


def _fields(record: FileRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


__all__ = ["error_response", "routes"]
