"""The Gemini batch handlers: create (`models/{model}:batchGenerateContent` and
`:asyncBatchEmbedContent`, from an uploaded file or inline requests), get, list, cancel, delete,
and the responses file written once a batch ends.

A batch is served as the long-running operation Gemini returns (`{name, metadata: {state, …},
done}`). Gemini has no cancelling state: a cancelled batch reads as running until it stops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchgraph.sandbox.clock import Phase, Progress, Timeline, progress
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.gemini_files import GENERATED, MAX_FILE_BYTES, new_id, prefix_url
from batchgraph.sandbox.gemini_http import (
    NAME,
    camel,
    failed_precondition,
    invalid,
    not_found,
    page_size,
    page_token,
    timestamp,
)
from batchgraph.sandbox.gemini_output import write_responses
from batchgraph.sandbox.storage import BatchRecord, Creation, FileRecord

WINDOW = 48 * 3600
"""Gemini aims at 24 hours; a batch still pending or running after 48 hours expires."""
MAX_INLINE_BYTES = 20 * 1024 * 1024
METHODS = {"batchGenerateContent": False, "asyncBatchEmbedContent": True}
"""The create methods, and whether each makes an embeddings batch."""
STATES = {
    Phase.VALIDATING: "BATCH_STATE_PENDING",
    Phase.RUNNING: "BATCH_STATE_RUNNING",
    Phase.FINALIZING: "BATCH_STATE_RUNNING",
    Phase.CANCELLING: "BATCH_STATE_RUNNING",
    Phase.COMPLETED: "BATCH_STATE_SUCCEEDED",
    Phase.EXPIRED: "BATCH_STATE_EXPIRED",
    Phase.CANCELLED: "BATCH_STATE_CANCELLED",
}
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta."


class Batches:
    """The batch handlers, sharing one context."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    async def create(self, request: Request) -> Response:
        model, _, method = request.path_params["spec"].partition(":")
        if method not in METHODS:
            return not_found(f"Method {method or '(none)'!r} is not found for models/{model}.")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return invalid("The request body is not valid JSON.")
        batch = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(batch, dict):
            return invalid("* batch: batch is not specified", "batch")
        source = camel(batch, "inputConfig")
        if not isinstance(source, dict):
            return invalid("* batch.input_config: input_config is not specified", "inputConfig")
        try:
            config = self.ctx.config.with_headers(request.headers)
        except ValueError as err:
            return invalid(str(err))
        name = f"batches/{new_id()}"
        input_id, refusal = await self._input_file(name, source, config.enforce_limits)
        if refusal is not None:
            return refusal
        assert input_id is not None
        total, problem = await run_in_threadpool(check_input, self.store.file_path(input_id))
        if problem is not None:
            return invalid(problem, "inputConfig")
        created = self.ctx.now()
        display_name = camel(batch, "displayName") or ""
        record = BatchRecord(
            id=name,
            provider=NAME,
            timeline=Timeline.plan(config, created, WINDOW),
            config=config,
            spec={
                "model": f"models/{model}",
                "display_name": display_name,
                "input_file_id": input_id,
                "inline": "requests" in source,
                "embeddings": METHODS[method],
                "total": total,
            },
        )
        creation = Creation(NAME, name, created, total, {"display_name": display_name})
        self.store.add_batch(record, creation)
        initial = Progress(Phase.VALIDATING, 0.0, {Phase.VALIDATING: 0.0})
        return JSONResponse(self._operation(record, initial, None))

    async def _input_file(
        self, name: str, source: dict[str, Any], enforce_limits: bool
    ) -> tuple[str | None, Response | None]:
        """The stored file the batch reads: the named upload, or the inline requests written
        to a file of their own (so both run the same way)."""
        file_name = camel(source, "fileName")
        if isinstance(file_name, str):
            file_id = file_name.removeprefix("files/")
            record = self.store.get_file(NAME, file_id)
            if record is None:
                return None, not_found(f"File {file_name} was not found.")
            if enforce_limits and record.bytes > MAX_FILE_BYTES:
                return None, invalid(f"Input files may be at most {MAX_FILE_BYTES} bytes.")
            return file_id, None
        inline = source.get("requests")
        items = inline.get("requests") if isinstance(inline, dict) else None
        if not isinstance(items, list) or not items:
            return None, invalid(
                "* batch.input_config: give file_name or a non-empty requests.requests",
                "inputConfig",
            )
        lines = [_inline_line(index, item) for index, item in enumerate(items)]
        if enforce_limits and sum(len(line) for line in lines) > MAX_INLINE_BYTES:
            return None, invalid(
                f"Inline requests may take at most {MAX_INLINE_BYTES} bytes; upload a file."
            )
        file_id = "inline-" + name.removeprefix("batches/")
        with self.store.writing(file_id) as out:
            out.writelines(lines)
        return file_id, None

    async def get(self, request: Request) -> Response:
        batch_id, _, verb = request.path_params["name"].partition(":")
        if verb:
            return not_found(f"Method {verb!r} is not found for GET.")
        record = self.store.get_batch(NAME, f"batches/{batch_id}")
        if record is None:
            return self._no_batch(batch_id)
        return JSONResponse(await self._render(record, prefix_url(request)))

    async def list(self, request: Request) -> Response:
        size = page_size(request, 50, 1000)
        if size is None:
            return invalid("pageSize must be a non-negative integer.", "pageSize")
        page = self.store.list_batches(NAME, limit=size, after=page_token(request))
        base = prefix_url(request)
        body: dict[str, Any] = {"operations": [await self._render(r, base) for r in page.items]}
        if page.has_more and page.items:
            body["nextPageToken"] = page.items[-1].id
        return JSONResponse(body)

    async def cancel(self, request: Request) -> Response:
        batch_id, _, verb = request.path_params["name"].partition(":")
        if verb != "cancel":
            return not_found(f"Method {verb or '(none)'!r} is not found for POST.")
        name = f"batches/{batch_id}"
        record = self.store.get_batch(NAME, name)
        if record is None:
            return self._no_batch(batch_id)
        now = self.ctx.now()
        state = progress(record.timeline, now, record.cancel_requested)
        if state.phase.terminal:
            return failed_precondition(f"Batch {name} has already ended ({STATES[state.phase]}).")
        self.store.request_cancel(NAME, name, now)
        return JSONResponse({})

    async def delete(self, request: Request) -> Response:
        batch_id = request.path_params["name"]
        if not self.store.delete_batch(NAME, f"batches/{batch_id}"):
            return self._no_batch(batch_id)
        return JSONResponse({})

    @staticmethod
    def _no_batch(batch_id: str) -> Response:
        return not_found(f"Batch batches/{batch_id} was not found.")

    # -- rendering ----------------------------------------------------------------------------

    async def _render(self, record: BatchRecord, base: str) -> dict[str, Any]:
        state = progress(record.timeline, self.ctx.now(), record.cancel_requested)
        outcome = None
        if state.phase.terminal:
            outcome = await run_in_threadpool(
                self.ctx.settle, record, lambda r: self._produce(r, state)
            )
        return self._operation(record, state, outcome)

    def _operation(
        self, record: BatchRecord, state: Progress, outcome: dict[str, Any] | None
    ) -> dict[str, Any]:
        spec = record.spec
        created = record.timeline.created
        latest = max(state.events.values())
        kind = "EmbedContentBatch" if spec["embeddings"] else "GenerateContentBatch"
        total = int(spec["total"])
        if outcome is not None:
            done = outcome["succeeded"] + outcome["failed"]
            stats = {"succeeded": outcome["succeeded"], "failed": outcome["failed"]}
        else:
            done = int(total * state.done_share) if Phase.RUNNING in state.events else 0
            failed = int(done * record.config.failure_rate)
            stats = {"succeeded": done - failed, "failed": failed}
        metadata: dict[str, Any] = {
            "@type": _TYPE + kind,
            "name": record.id,
            "model": spec["model"],
            "displayName": spec["display_name"],
            "createTime": timestamp(created),
            "updateTime": timestamp(created + latest),
            "state": STATES[state.phase],
            "batchStats": {
                "requestCount": str(total),
                "successfulRequestCount": str(stats["succeeded"]),
                "failedRequestCount": str(stats["failed"]),
                "pendingRequestCount": str(total - done),
            },
        }
        if not spec["inline"]:
            metadata["inputConfig"] = {"fileName": f"files/{spec['input_file_id']}"}
        operation: dict[str, Any] = {"name": record.id, "metadata": metadata}
        if outcome is not None:
            metadata["endTime"] = timestamp(created + latest)
            metadata["output"] = self._output(record, outcome)
            operation["done"] = True
            operation["response"] = {"@type": _TYPE + kind + "Output", **metadata["output"]}
        return operation

    def _output(self, record: BatchRecord, outcome: dict[str, Any]) -> dict[str, Any]:
        file_id = outcome["responses_file"]
        if not record.spec["inline"]:
            return {"responsesFile": f"files/{file_id}"}
        with self.store.file_path(file_id).open("rb") as lines:
            responses = [_inline_response(json.loads(line)) for line in lines if line.strip()]
        return {"inlinedResponses": {"inlinedResponses": responses}}

    def _produce(self, record: BatchRecord, state: Progress) -> dict[str, Any]:
        """Write the responses file of a batch that just ended."""
        spec = record.spec
        file_id = "batch-" + record.id.removeprefix("batches/")
        end = int(record.timeline.created + max(state.events.values()))
        with self.store.writing(file_id) as out:
            tally = write_responses(
                self.store.file_path(spec["input_file_id"]),
                out,
                batch_id=record.id,
                model=spec["model"],
                embeddings=spec["embeddings"],
                fates=Fates(record.config),
                done_share=state.done_share,
                unfinished="cancelled" if state.phase is Phase.CANCELLED else "expired",
            )
            size = out.tell()
        self.store.add_file(
            FileRecord(
                file_id,
                NAME,
                end,
                f"{file_id}.jsonl",
                "batch_output",
                size,
                {"display_name": f"{file_id}.jsonl", "mime_type": "jsonl", "source": GENERATED},
            )
        )
        return {"responses_file": file_id, "succeeded": tally.succeeded, "failed": tally.failed}


def check_input(path: Path) -> tuple[int, str | None]:
    """The request count of an input file, or the first problem that makes Gemini refuse it
    (named by its 1-based line)."""
    seen: set[str] = set()
    total = 0
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                line = None
            if not isinstance(line, dict):
                return total, f"Line {number} of the input file is not a JSON object."
            key = line.get("key")
            if not isinstance(key, str) or not key:
                return total, f"Line {number} of the input file has no key."
            if key in seen:
                return total, f"Line {number} of the input file repeats the key {key!r}."
            if not isinstance(line.get("request"), dict):
                return total, f"Line {number} of the input file has no request object."
            seen.add(key)
            total += 1
    if total == 0:
        return 0, "The input file holds no requests."
    return total, None


def _inline_line(index: int, item: Any) -> bytes:
    """An inline request as an input file line; its key is `metadata.key`, else its index."""
    item = item if isinstance(item, dict) else {}
    metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    key = str(metadata.get("key") or index)
    line = {"key": key, "request": item.get("request")}
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _inline_response(line: dict[str, Any]) -> dict[str, Any]:
    """A responses-file line in the inline shape: the response or error with its metadata."""
    answer = {k: v for k, v in line.items() if k != "key"}
    return {**answer, "metadata": {"key": line["key"]}}
