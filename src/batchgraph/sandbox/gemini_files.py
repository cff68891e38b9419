"""The Gemini Files API (`/gemini/upload/v1beta/files`, `/gemini/v1beta/files/...`): the
resumable upload protocol the `google-genai` SDK speaks, file records, and downloads of the
responses files that batches write (uploaded files cannot be downloaded, as on Gemini)."""

from __future__ import annotations

import json
import os
import secrets
import string
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.gemini_http import (
    API_VERSION,
    FILE_TTL,
    NAME,
    camel,
    invalid,
    not_found,
    page_size,
    page_token,
    timestamp,
)
from batchgraph.sandbox.signing import upload_session_id
from batchgraph.sandbox.storage import FileRecord

UPLOADED = "UPLOADED"
GENERATED = "GENERATED"
MAX_FILE_BYTES = 2 * 1024**3
"""Gemini takes files up to 2 GB."""


def new_id() -> str:
    """A Gemini-style resource id: lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def file_json(record: FileRecord, base: str) -> dict[str, Any]:
    """A `File` resource. `base` is the server's URL up to and including the prefix."""
    meta = record.meta
    name = f"files/{record.id}"
    body: dict[str, Any] = {
        "name": name,
        "displayName": meta.get("display_name") or record.filename,
        "mimeType": meta.get("mime_type", "application/jsonl"),
        "sizeBytes": str(record.bytes),
        "createTime": timestamp(record.created_at),
        "updateTime": timestamp(record.created_at),
        "expirationTime": timestamp(record.created_at + FILE_TTL),
        "uri": f"{base}/{API_VERSION}/{name}",
        "state": "ACTIVE",
        "source": meta.get("source", UPLOADED),
    }
    if body["source"] == GENERATED:
        body["downloadUri"] = f"{base}/download/{API_VERSION}/{name}:download?alt=media"
    return body


def prefix_url(request: Request) -> str:
    """The server's URL up to the provider prefix (where the SDK's base URL points)."""
    return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"


class Files:
    """The Files API handlers; uploads in progress live beside the stored files."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    # -- resumable upload -----------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        """Start a resumable upload, or take one of its chunks (`?upload_id=`)."""
        upload_id = request.query_params.get("upload_id")
        command = request.headers.get("x-goog-upload-command", "")
        if upload_id is None:
            if command != "start" or request.headers.get("x-goog-upload-protocol") != "resumable":
                return invalid(
                    "Send X-Goog-Upload-Protocol: resumable and X-Goog-Upload-Command: start "
                    "to begin an upload."
                )
            return await self._start(request)
        return await self._chunk(request, upload_id, command)

    async def _start(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return invalid("The request body is not valid JSON.")
        file = body.get("file") if isinstance(body, dict) else None
        file = file if isinstance(file, dict) else {}
        declared = request.headers.get("x-goog-upload-header-content-length")
        size = declared if declared is not None else camel(file, "sizeBytes")
        try:
            expected = int(size) if size is not None else None
        except ValueError:
            return invalid(f"Invalid upload size {size!r}.", "X-Goog-Upload-Header-Content-Length")
        if expected is not None and expected > MAX_FILE_BYTES:
            return invalid(f"Files may be at most {MAX_FILE_BYTES} bytes, not {expected}.")
        upload_id = upload_session_id(new_id())
        session = {
            "display_name": camel(file, "displayName"),
            "mime_type": camel(file, "mimeType")
            or request.headers.get("x-goog-upload-header-content-type"),
            "expected": expected,
        }
        self._session_path(upload_id).write_text(json.dumps(session))
        self._part_path(upload_id).write_bytes(b"")
        url = request.url.replace(query=f"upload_id={upload_id}&upload_protocol=resumable")
        headers = {
            "x-goog-upload-url": str(url),
            "x-goog-upload-status": "active",
            "x-goog-upload-chunk-granularity": str(8 * 1024 * 1024),
        }
        return JSONResponse({}, headers=headers)

    async def _chunk(self, request: Request, upload_id: str, command: str) -> Response:
        session_path = self._session_path(upload_id)
        if not session_path.exists():
            return not_found(f"No upload in progress with id {upload_id}.")
        session = json.loads(session_path.read_text())
        part = self._part_path(upload_id)
        offset = request.headers.get("x-goog-upload-offset", "0")
        if not offset.isdigit() or int(offset) != part.stat().st_size:
            return invalid(
                f"X-Goog-Upload-Offset {offset} does not continue the upload at "
                f"{part.stat().st_size} bytes.",
                "X-Goog-Upload-Offset",
            )
        with part.open("ab") as out:
            async for block in request.stream():
                out.write(block)
        commands = {c.strip() for c in command.split(",")}
        if "finalize" not in commands:
            return Response(headers={"x-goog-upload-status": "active"})
        size = part.stat().st_size
        expected = session.get("expected")
        if expected is not None and size != expected:
            return invalid(f"The upload holds {size} bytes but {expected} were announced.")
        record = FileRecord(
            id=new_id(),
            provider=NAME,
            created_at=int(self.ctx.now()),
            filename=session.get("display_name") or "upload",
            purpose="batch",
            bytes=size,
            meta={
                "display_name": session.get("display_name"),
                "mime_type": session.get("mime_type") or "application/octet-stream",
                "source": UPLOADED,
            },
        )
        os.replace(part, self.store.file_path(record.id))
        session_path.unlink(missing_ok=True)
        self.store.add_file(record)
        return JSONResponse(
            {"file": file_json(record, prefix_url(request))},
            headers={"x-goog-upload-status": "final"},
        )

    def _session_path(self, upload_id: str) -> Any:
        return self.store.files_dir / f".gemini-upload-{upload_id}.json"

    def _part_path(self, upload_id: str) -> Any:
        return self.store.files_dir / f".gemini-upload-{upload_id}.part"

    # -- files ----------------------------------------------------------------------------------

    async def get_file(self, request: Request) -> Response:
        """`GET files/{id}` or, with the `:download` verb, the file's content."""
        file_id, _, verb = request.path_params["name"].partition(":")
        if verb == "download":
            return await self._download(file_id)
        if verb:
            return not_found(f"Unknown method {verb!r} on files.")
        record = self.store.get_file(NAME, file_id)
        if record is None:
            return self._no_file(file_id)
        return JSONResponse(file_json(record, prefix_url(request)))

    async def download(self, request: Request) -> Response:
        """`GET /download/v1beta/files/{id}:download?alt=media` (the REST docs' form)."""
        file_id, _, verb = request.path_params["name"].partition(":")
        if verb != "download":
            return not_found("Downloads are asked for as files/{id}:download.")
        return await self._download(file_id)

    async def _download(self, file_id: str) -> Response:
        record = self.store.get_file(NAME, file_id)
        if record is None:
            return self._no_file(file_id)
        if record.meta.get("source") != GENERATED:
            return invalid(
                f"files/{file_id} was uploaded; only generated files (such as batch results) "
                "can be downloaded."
            )
        return FileResponse(self.store.file_path(file_id), media_type="application/octet-stream")

    async def delete_file(self, request: Request) -> Response:
        file_id = request.path_params["name"]
        deleted = await run_in_threadpool(self.store.delete_file, NAME, file_id)
        if not deleted:
            return self._no_file(file_id)
        return JSONResponse({})

    async def list_files(self, request: Request) -> Response:
        size = page_size(request, 10, 100)
        if size is None:
            return invalid("pageSize must be a non-negative integer.", "pageSize")
        page = self.store.list_files(NAME, limit=size, after=page_token(request))
        base = prefix_url(request)
        body: dict[str, Any] = {"files": [file_json(f, base) for f in page.items]}
        if page.has_more and page.items:
            body["nextPageToken"] = page.items[-1].id
        return JSONResponse(body)

    @staticmethod
    def _no_file(file_id: str) -> Response:
        return not_found(f"File files/{file_id} was not found.")
