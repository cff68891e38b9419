"""The Anthropic Message Batches API (`/anthropic/v1/messages/batches...`): what the `anthropic`
SDK calls, with Anthropic's statuses, RFC 3339 timestamps, request counts and error bodies.

Requests arrive inline in the create call and are kept as a JSONL file beside the batch; the
results stream is written once, when the batch ends, and served at `results_url` until the
batch is archived (29 virtual days after creation; never on an instant clock, where every
moment after creation is "infinitely later" and results would be gone before anyone read them).
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import string
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox import anthropic_sync, models
from batchgraph.sandbox.anthropic_checks import CreateRefused, check_create, check_size
from batchgraph.sandbox.anthropic_results import COUNTS, write_results
from batchgraph.sandbox.clock import Phase, Progress, Timeline, progress
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import ErrorKind, SandboxContext
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.storage import BatchRecord, Creation

NAME = "anthropic"
WINDOW = 24 * 3600
ARCHIVE_AFTER = 29 * 24 * 3600
"""Virtual seconds after creation when an ended batch's results are archived (gone)."""
MAX_LIST_LIMIT = 1000
STATUS = {
    Phase.VALIDATING: "in_progress",
    Phase.RUNNING: "in_progress",
    Phase.FINALIZING: "in_progress",
    Phase.CANCELLING: "canceling",
    Phase.COMPLETED: "ended",
    Phase.EXPIRED: "ended",
    Phase.CANCELLED: "ended",
}
_ERROR_TYPES = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.UNAUTHORIZED: "authentication_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.SERVER_ERROR: "api_error",
}
_blips = itertools.count()
"""Every other server-error blip is Anthropic's 529 `overloaded_error` instead of a 500 (a
refusal aimed with another status, `refuse_status=503`, keeps its status)."""


def error_response(
    status: int, kind: ErrorKind, message: str, *, param: str | None = None
) -> Response:
    """Anthropic's `{"type":"error","error":{type,message},"request_id"}` body."""
    kind_name = _ERROR_TYPES[kind]
    if kind is ErrorKind.SERVER_ERROR and status == 500 and next(_blips) % 2:
        status, kind_name, message = 529, "overloaded_error", "Overloaded"
    return _error(status, kind_name, message)


def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
    """The API under its one personality, whose name is this module's store namespace."""
    api = _Anthropic(ctx)
    return [
        Route("/v1/messages/batches", api.create, methods=["POST"]),
        Route("/v1/messages/batches", api.list, methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}", api.retrieve, methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}", api.delete, methods=["DELETE"]),
        Route("/v1/messages/batches/{batch_id}/cancel", api.cancel, methods=["POST"]),
        Route("/v1/messages/batches/{batch_id}/results", api.results, methods=["GET"]),
        *anthropic_sync.routes(ctx, _invalid),
        models.route(models.anthropic_list()),
    ]


def _error(status: int, kind: str, message: str) -> Response:
    request_id = "req_" + uuid.uuid4().hex[:24]
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    return JSONResponse(body, status_code=status, headers={"request-id": request_id})


def _invalid(message: str) -> Response:
    return _error(400, "invalid_request_error", message)


def _not_found(batch_id: str) -> Response:
    return _error(404, "not_found_error", f"Message Batch {batch_id!r} not found")


def _batch_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "msgbatch_01" + "".join(secrets.choice(alphabet) for _ in range(22))


def _origin(request: Request) -> str:
    """This server's own address up to the API paths (scheme, host, port and mount prefix)."""
    url = str(request.url.replace(query=""))
    return url[: url.index("/v1/messages/batches")]


def _rfc3339(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )


class _Anthropic:
    """The route handlers, sharing one context."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    async def create(self, request: Request) -> Response:
        raw = await request.body()
        try:
            check_size(len(raw))
            config = self.ctx.config.with_headers(request.headers)
            record, ids = await run_in_threadpool(self._create, raw, config)
        except CreateRefused as err:
            return _error(err.status, err.kind, err.message)
        except ValueError as err:
            return _invalid(str(err))
        self.store.add_batch(
            record, Creation(NAME, record.id, record.timeline.created, len(ids), None, ids)
        )
        initial = Progress(Phase.VALIDATING, 0.0, {Phase.VALIDATING: 0.0})
        return JSONResponse(self._batch_json(record, initial))

    def _create(self, raw: bytes, config: SandboxConfig) -> tuple[BatchRecord, list[str]]:
        """Check the body and keep its requests as JSONL; raises `CreateRefused`."""
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise CreateRefused(f"The request body is not valid JSON: {err}") from err
        requests = check_create(body)
        batch_id = _batch_id()
        with self.store.writing(_requests_file(batch_id)) as out:
            for item in requests:
                line = {"custom_id": item["custom_id"], "params": item["params"]}
                out.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode())
                out.write(b"\n")
        created = self.ctx.now()
        record = BatchRecord(
            id=batch_id,
            provider=NAME,
            timeline=Timeline.plan(config, created, WINDOW),
            config=config,
            spec={"total": len(requests)},
        )
        return record, [item["custom_id"] for item in requests]

    async def retrieve(self, request: Request) -> Response:
        record = self.store.get_batch(NAME, request.path_params["batch_id"])
        if record is None:
            return _not_found(request.path_params["batch_id"])
        return JSONResponse(await self._render(record, _origin(request)))

    async def list(self, request: Request) -> Response:
        query = request.query_params
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIST_LIMIT:
            return _invalid(f"limit: Input should be between 1 and {MAX_LIST_LIMIT}")
        after, before = query.get("after_id"), query.get("before_id")
        if after and before:
            return _invalid("Only one of after_id and before_id may be given")
        if before:
            # The page just newer than `before`: read upwards from it, then show newest first.
            page = self.store.list_batches(NAME, limit=limit, after=before, newest_first=False)
            records = list(reversed(page.items))
        else:
            page = self.store.list_batches(NAME, limit=limit, after=after)
            records = page.items
        origin = _origin(request)
        data = [await self._render(r, origin) for r in records]
        return JSONResponse(
            {
                "data": data,
                "has_more": page.has_more,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def cancel(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        record = self.store.get_batch(NAME, batch_id)
        if record is None:
            return _not_found(batch_id)
        now = self.ctx.now()
        if progress(record.timeline, now, record.cancel_requested).phase.terminal:
            return _invalid(f"Message Batch {batch_id!r} has ended and cannot be canceled")
        self.store.request_cancel(NAME, batch_id, now)
        record = self.store.get_batch(NAME, batch_id) or record
        return JSONResponse(await self._render(record, _origin(request)))

    async def delete(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        record = self.store.get_batch(NAME, batch_id)
        if record is None:
            return _not_found(batch_id)
        if not self._progress(record).phase.terminal:
            return _invalid(
                f"Message Batch {batch_id!r} is still processing; cancel it and wait until it "
                "has ended before deleting it"
            )
        self.store.delete_batch(NAME, batch_id)
        for file_id in (_requests_file(batch_id), _results_file(batch_id)):
            self.store.file_path(file_id).unlink(missing_ok=True)
        return JSONResponse({"id": batch_id, "type": "message_batch_deleted"})

    async def results(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        record = self.store.get_batch(NAME, batch_id)
        if record is None:
            return _not_found(batch_id)
        batch = await self._render(record, _origin(request))
        if batch["processing_status"] != "ended":
            return _invalid(
                f"Message Batch {batch_id!r} is still {batch['processing_status']}; its results "
                "can be read once it has ended"
            )
        if batch["archived_at"] is not None:
            self.store.file_path(_results_file(batch_id)).unlink(missing_ok=True)
            return _error(
                404,
                "not_found_error",
                f"The results of Message Batch {batch_id!r} were archived at "
                f"{batch['archived_at']} and are no longer available",
            )
        path = self.store.file_path(_results_file(batch_id))
        return FileResponse(path, media_type="application/x-jsonl")

    # -- rendering ----------------------------------------------------------------------------

    def _progress(self, record: BatchRecord) -> Progress:
        return progress(record.timeline, self.ctx.now(), record.cancel_requested)

    async def _render(self, record: BatchRecord, origin: str) -> dict[str, Any]:
        state = self._progress(record)
        outcome = None
        if state.phase.terminal:
            outcome = await run_in_threadpool(
                self.ctx.settle, record, lambda r: self._produce(r, state)
            )
        batch = self._batch_json(record, state, outcome)
        if outcome is not None:
            batch["results_url"] = f"{origin}/v1/messages/batches/{record.id}/results"
        return batch

    def _batch_json(
        self, record: BatchRecord, state: Progress, outcome: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        created = record.timeline.created
        counts = dict.fromkeys(COUNTS, 0)
        counts["processing"] = int(record.spec["total"])
        ended_at = archived_at = cancel_initiated_at = None
        if state.at(Phase.CANCELLING) is not None:
            cancel_initiated_at = _rfc3339(created + (state.at(Phase.CANCELLING) or 0.0))
        if outcome is not None:
            counts = outcome["request_counts"]
            ended_at = _rfc3339(created + outcome["ended"])
            if _archived(record, self.ctx.now()):
                archived_at = _rfc3339(created + ARCHIVE_AFTER)
        return {
            "id": record.id,
            "type": "message_batch",
            "processing_status": STATUS[state.phase],
            "request_counts": counts,
            "ended_at": ended_at,
            "created_at": _rfc3339(created),
            "expires_at": _rfc3339(created + WINDOW),
            "archived_at": archived_at,
            "cancel_initiated_at": cancel_initiated_at,
            "results_url": None,
        }

    def _produce(self, record: BatchRecord, state: Progress) -> dict[str, Any]:
        """Write the results of a batch that just ended; return what its retrieval shows."""
        unfinished = "canceled" if state.phase is Phase.CANCELLED else "expired"
        with self.store.writing(_results_file(record.id)) as out:
            counts = write_results(
                self.store.file_path(_requests_file(record.id)),
                out,
                batch_id=record.id,
                fates=Fates(record.config),
                done_share=state.done_share,
                unfinished=unfinished,
            )
        return {"request_counts": counts, "ended": max(state.events.values())}


def _requests_file(batch_id: str) -> str:
    return f"{batch_id}.requests.jsonl"


def _results_file(batch_id: str) -> str:
    return f"{batch_id}.results.jsonl"


def _archived(record: BatchRecord, now: float) -> bool:
    """Whether the batch's results are archived by now (an instant clock never archives)."""
    timeline = record.timeline
    return not math.isinf(timeline.time_scale) and timeline.elapsed(now) >= ARCHIVE_AFTER
