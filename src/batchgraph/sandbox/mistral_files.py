"""Mistral's Files API in the sandbox: stored uploads and generated result files, as JSON.

The SDK validates every file object strictly (`bytes` must be an integer; `sample_type` and
`source` are required), so every view is built here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from batchgraph.sandbox.mistral_errors import invalid, not_found, refused
from batchgraph.sandbox.mistral_query import choices_text
from batchgraph.sandbox.storage import FileRecord, SandboxStore

PROVIDER = "mistral"
MAX_UPLOAD_BYTES = 512 * 1000 * 1000
PURPOSES = ("fine-tune", "batch", "ocr", "audio")
VISIBILITIES = ("workspace", "user")
SAMPLE_TYPES = ("pretrain", "instruct", "batch_request", "batch_result", "batch_error")
SOURCES = ("upload", "repository", "mistral")
CHUNK = 1 << 20


def file_json(record: FileRecord, *, deleted: bool | None = None) -> dict[str, Any]:
    """A file object (`FileSchema`; with `deleted` it is a `GetFileResponse`)."""
    meta = record.meta
    out: dict[str, Any] = {
        "id": record.id,
        "object": "file",
        "bytes": record.bytes,
        "created_at": record.created_at,
        "filename": record.filename,
        "purpose": record.purpose,
        "sample_type": meta.get("sample_type", "batch_request"),
        "source": meta.get("source", "upload"),
        "num_lines": meta.get("num_lines"),
        "mimetype": meta.get("mimetype"),
        "signature": meta.get("signature"),
        "expires_at": meta.get("expires_at"),
        "visibility": meta.get("visibility", "workspace"),
    }
    if deleted is not None:
        out["deleted"] = deleted
    return out


def live_file(store: SandboxStore, file_id: str, now: float) -> FileRecord:
    """The file, or a 404 when it is unknown, deleted or past its expiry."""
    record = store.get_file(PROVIDER, file_id)
    if record is None or _expired(record, now):
        raise not_found("File", file_id)
    return record


def _expired(record: FileRecord, now: float) -> bool:
    expires_at = record.meta.get("expires_at")
    return expires_at is not None and expires_at <= now


@dataclass(frozen=True, slots=True)
class UploadForm:
    """The multipart fields of an upload, checked."""

    purpose: str
    visibility: str
    expiry: int | None


def check_upload_form(purpose: Any, visibility: Any, expiry: Any) -> UploadForm:
    purpose = purpose or "fine-tune"
    if purpose not in PURPOSES:
        raise invalid(["purpose"], f"Input should be {choices_text(PURPOSES)}", "enum", purpose)
    visibility = visibility or "workspace"
    if visibility not in VISIBILITIES:
        msg = f"Input should be {choices_text(VISIBILITIES)}"
        raise invalid(["visibility"], msg, "enum", visibility)
    hours: int | None = None
    if expiry not in (None, ""):
        try:
            hours = int(expiry)
        except ValueError:
            msg = "Input should be a valid integer, unable to parse string as an integer"
            raise invalid(["expiry"], msg, "int_parsing", expiry) from None
        if hours < 1:
            raise invalid(["expiry"], "Input should be greater than or equal to 1", "ge", hours)
    return UploadForm(str(purpose), str(visibility), hours)


def store_upload(
    store: SandboxStore,
    file_id: str,
    filename: str,
    content_type: str | None,
    source: IO[bytes],
    form: UploadForm,
    now: float,
    enforce_limits: bool = True,
) -> FileRecord:
    """Copy an uploaded file into the store, counting its bytes and lines as it streams."""
    size = newlines = 0
    last = b"\n"
    digest = hashlib.blake2b(digest_size=8)
    with store.writing(file_id) as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES and enforce_limits:
                raise refused(
                    f"File is larger than {MAX_UPLOAD_BYTES} bytes (512 MB); split it",
                    413,
                    "file_too_large",
                )
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
            digest.update(chunk)
            out.write(chunk)
    jsonl = filename.endswith(".jsonl")
    created = int(now)
    record = FileRecord(
        id=file_id,
        provider=PROVIDER,
        created_at=created,
        filename=filename,
        purpose=form.purpose,
        bytes=size,
        meta={
            "sample_type": "batch_request" if form.purpose == "batch" else "instruct",
            "source": "upload",
            "num_lines": newlines + (0 if last == b"\n" else 1) if jsonl else None,
            "mimetype": "application/jsonl" if jsonl else content_type,
            "signature": digest.hexdigest(),
            "expires_at": created + form.expiry * 3600 if form.expiry else None,
            "visibility": form.visibility,
        },
    )
    store.add_file(record)
    return record


def result_file(
    store: SandboxStore, file_id: str, job_id: str, kind: str, lines: int, created: int
) -> FileRecord:
    """Register a generated output (`batch_result`) or error (`batch_error`) file."""
    path = store.file_path(file_id)
    record = FileRecord(
        id=file_id,
        provider=PROVIDER,
        created_at=created,
        filename=f"{job_id}_{'output' if kind == 'batch_result' else 'error'}.jsonl",
        purpose="batch",
        bytes=path.stat().st_size,
        meta={
            "sample_type": kind,
            "source": "mistral",
            "num_lines": lines,
            "mimetype": "application/jsonl",
            "signature": None,
            "expires_at": None,
            "visibility": "workspace",
        },
    )
    store.add_file(record)
    return record


@dataclass(frozen=True, slots=True)
class FileFilter:
    """The list call's filters (`sample_type`, `source` and `mimetypes` repeat)."""

    purpose: str | None = None
    sample_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    mimetypes: tuple[str, ...] = ()
    search: str | None = None

    @property
    def needs_scan(self) -> bool:
        """Whether filtering goes beyond what the store can do itself (purpose)."""
        return bool(self.sample_types or self.sources or self.mimetypes or self.search)

    def matches(self, record: FileRecord) -> bool:
        meta = record.meta
        return (
            (not self.sample_types or meta.get("sample_type") in self.sample_types)
            and (not self.sources or meta.get("source") in self.sources)
            and (not self.mimetypes or meta.get("mimetype") in self.mimetypes)
            and (not self.search or self.search.lower() in record.filename.lower())
        )


def list_files(
    store: SandboxStore, page: int, page_size: int, wanted: FileFilter, now: float
) -> tuple[list[FileRecord], int]:
    """One page (newest first) and the number of files matching in all."""
    if not wanted.needs_scan:
        listed = store.list_files(
            PROVIDER, limit=page_size, offset=page * page_size, purpose=wanted.purpose
        )
        items = [r for r in listed.items if not _expired(r, now)]
        return items, store.count_files(PROVIDER, wanted.purpose)
    matching = [r for r in _all_files(store, wanted.purpose) if wanted.matches(r)]
    matching = [r for r in matching if not _expired(r, now)]
    start = page * page_size
    return matching[start : start + page_size], len(matching)


def _all_files(store: SandboxStore, purpose: str | None) -> Iterator[FileRecord]:
    offset = 0
    while True:
        listed = store.list_files(PROVIDER, limit=500, offset=offset, purpose=purpose)
        yield from listed.items
        if not listed.has_more:
            return
        offset += len(listed.items)
