"""Records to database rows and back, shared by every backend.

Both backends store the same columns with the same plain types (text, integers, floats, bytes),
so the conversion lives here once and the SQL modules only move tuples.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Sequence
from typing import Any

from batchgraph import jsoncodec
from batchgraph.model import (
    JSON,
    Outcome,
    ProviderError,
    Request,
    Result,
    Usage,
    outcome_reason,
)
from batchgraph.store.base import (
    ChunkMode,
    ChunkRecord,
    ChunkStatus,
    FlowRecord,
    JobRecord,
    JobStatus,
    LedgerRow,
    LedgerStatus,
)

Row = Sequence[Any]

JOB_COLUMNS = "id, name, provider, spec, status, total, created_at, updated_at, report"
FLOW_COLUMNS = "id, name, spec, status, progress, created_at, updated_at, report"
CHUNK_COLUMNS = (
    "job_id, chunk, attempt, status, size, batch_id, intent_at, provider_status, counts, "
    "input_tokens, output_tokens, cached_tokens, model, provisional, mode, host, "
    "cache_write_tokens"
)
CHUNK_COLUMN_COUNT = CHUNK_COLUMNS.count(",") + 1
RESULT_COLUMNS = (
    "custom_id",
    "batch_id",
    "result_text",
    "parsed_json",
    "embedding",
    "stop_reason",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "error_code",
    "error_message",
    "error_raw",
    "error_retryable",
    "result_details",
    "cache_write_tokens",
)
LEDGER_COLUMNS = "idx, request, status, attempt, chunk, " + ", ".join(RESULT_COLUMNS)
RECORD_COLUMNS = "idx, {id}, {model}, status, attempt, chunk, " + ", ".join(RESULT_COLUMNS)
"""What `result_record_from_row` reads: `LEDGER_COLUMNS` with the request's id and model (as
expressions given for `{id}` and `{model}`) in place of the request."""

CHUNK_FIELDS = {
    "attempt": ("attempt",),
    "status": ("status",),
    "size": ("size",),
    "batch_id": ("batch_id",),
    "intent_at": ("intent_at",),
    "provider_status": ("provider_status",),
    "counts": ("counts",),
    "usage": ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens"),
    "model": ("model",),
    "provisional": ("provisional",),
    "mode": ("mode",),
    "host": ("host",),
}
"""The `ChunkRecord` fields `update_chunk` may change, and the columns each one is stored in."""


def dump_json(value: JSON) -> str:
    return jsoncodec.dumps(value)


def _load_json(text: str | None) -> JSON:
    return None if text is None else json.loads(text)


def _pack_floats(values: list[float] | None) -> bytes | None:
    """Embeddings as little-endian float64: exact, and a third of their JSON size."""
    if values is None:
        return None
    packed = array("d", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack_floats(data: bytes | memoryview | None) -> list[float] | None:
    if data is None:
        return None
    packed = array("d")
    packed.frombytes(bytes(data))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


# -- jobs -------------------------------------------------------------------------------------


def job_to_row(job: JobRecord) -> tuple[Any, ...]:
    report = None if job.report is None else dump_json(job.report)
    return (
        job.id,
        job.name,
        job.provider,
        dump_json(job.spec),
        JobStatus(job.status).value,
        job.total,
        job.created_at,
        job.updated_at,
        report,
    )


def job_from_row(row: Row) -> JobRecord:
    return JobRecord(
        id=row[0],
        name=row[1],
        provider=row[2],
        spec=json.loads(row[3]),
        status=JobStatus(row[4]),
        total=int(row[5]),
        created_at=float(row[6]),
        updated_at=float(row[7]),
        report=_load_json(row[8]),
    )


# -- chunks -----------------------------------------------------------------------------------


def chunk_to_row(chunk: ChunkRecord, size: int) -> tuple[Any, ...]:
    return (
        chunk.job_id,
        chunk.chunk,
        chunk.attempt,
        ChunkStatus(chunk.status).value,
        size,
        chunk.batch_id,
        chunk.intent_at,
        chunk.provider_status,
        dump_json(chunk.counts),
        chunk.usage.input_tokens,
        chunk.usage.output_tokens,
        chunk.usage.cached_tokens,
        chunk.model,
        int(chunk.provisional),
        ChunkMode(chunk.mode).value,
        chunk.host,
        chunk.usage.cache_write_tokens,
    )


def chunk_from_row(row: Row) -> ChunkRecord:
    return ChunkRecord(
        job_id=row[0],
        chunk=int(row[1]),
        attempt=int(row[2]),
        status=ChunkStatus(row[3]),
        size=int(row[4]),
        batch_id=row[5],
        intent_at=None if row[6] is None else float(row[6]),
        provider_status=row[7],
        counts=json.loads(row[8]),
        usage=Usage(int(row[9]), int(row[10]), int(row[11]), cache_write_tokens=int(row[16] or 0)),
        model=row[12],
        provisional=bool(row[13]),
        mode=ChunkMode(row[14]),
        host=row[15],
    )


def chunk_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """`update_chunk` keyword arguments as column values; unknown fields are refused."""
    unknown = sorted(set(changes) - set(CHUNK_FIELDS))
    if unknown:
        allowed = ", ".join(sorted(CHUNK_FIELDS))
        raise TypeError(f"update_chunk() cannot change {', '.join(unknown)}; allowed: {allowed}")
    columns: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "usage":
            usage: Usage = value
            columns["input_tokens"] = usage.input_tokens
            columns["output_tokens"] = usage.output_tokens
            columns["cached_tokens"] = usage.cached_tokens
            columns["cache_write_tokens"] = usage.cache_write_tokens
        elif name == "counts":
            columns["counts"] = dump_json(value)
        elif name == "status":
            columns["status"] = ChunkStatus(value).value
        elif name == "provisional":
            columns["provisional"] = int(value)
        elif name == "mode":
            columns["mode"] = ChunkMode(value).value
        else:
            columns[name] = value
    return columns


# -- ledger -----------------------------------------------------------------------------------


def request_to_text(request: Request) -> str:
    return dump_json(request.to_json())


def result_to_row(result: Result) -> tuple[Any, ...]:
    """The values of `RESULT_COLUMNS` for one result."""
    error = result.error
    return (
        result.custom_id,
        result.batch_id,
        result.text,
        None if result.parsed is None else dump_json(result.parsed),
        _pack_floats(result.embedding),
        result.stop_reason,
        result.model,
        result.usage.input_tokens,
        result.usage.output_tokens,
        result.usage.cached_tokens,
        None if error is None else error.code,
        None if error is None else error.message,
        None if error is None or error.raw is None else dump_json(error.raw),
        None if error is None else int(error.retryable),
        _details(result),
        result.usage.cache_write_tokens,
    )


def _details(result: Result) -> str | None:
    """`result_details`: what the answer carries beyond its text, or None when nothing."""
    details: dict[str, JSON] = {}
    if result.tool_calls:
        details["tool_calls"] = result.tool_calls
    if result.refusal is not None:
        details["refusal"] = result.refusal
    if result.logprobs is not None:
        details["logprobs"] = result.logprobs
    if result.usage.reasoning_tokens:
        details["reasoning_tokens"] = result.usage.reasoning_tokens
    return dump_json(details) if details else None


TEXT_RESULT_COLUMNS = (
    "custom_id",
    "batch_id",
    "result_text",
    "stop_reason",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
)
"""The `RESULT_COLUMNS` a succeeded plain text answer fills; the others stay NULL."""


def text_result_row(result: Result) -> tuple[Any, ...] | None:
    """The values of `TEXT_RESULT_COLUMNS` when `result` is a succeeded plain text answer (no
    parsed JSON, embedding or error), else None: most results are, and writing them binds
    fewer values (see `SqlStore._record_batch`)."""
    if (
        result.outcome is not Outcome.SUCCEEDED
        or result.parsed is not None
        or result.embedding is not None
        or result.error is not None
        or result.tool_calls
        or result.refusal is not None
        or result.logprobs is not None
        or result.usage.reasoning_tokens
        or result.usage.cache_write_tokens
    ):
        return None
    usage = result.usage
    return (
        result.custom_id,
        result.batch_id,
        result.text,
        result.stop_reason,
        result.model,
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_tokens,
    )


def result_from_row(status: LedgerStatus, row: Row) -> Result | None:
    """The result stored in `RESULT_COLUMNS`, or None when the row has none yet."""
    (custom_id, batch_id, text, parsed, embedding, stop_reason, model) = row[:7]
    (input_tokens, output_tokens, cached_tokens) = row[7:10]
    (error_code, error_message, error_raw, error_retryable, details, written) = row[10:16]
    if custom_id is None:
        return None
    extra = _load_json(details) or {}
    error = None
    if error_code is not None:
        error = ProviderError(
            code=error_code,
            message=error_message or "",
            raw=_load_json(error_raw),
            retryable=bool(error_retryable),
        )
    return Result(
        custom_id=custom_id,
        outcome=Outcome(status.value),
        batch_id=batch_id or "",
        text=text,
        parsed=_load_json(parsed),
        embedding=_unpack_floats(embedding),
        stop_reason=stop_reason,
        model=model,
        usage=Usage(
            int(input_tokens or 0),
            int(output_tokens or 0),
            int(cached_tokens or 0),
            int(extra.get("reasoning_tokens") or 0),
            int(written or 0),
        ),
        error=error,
        tool_calls=extra.get("tool_calls"),
        refusal=extra.get("refusal"),
        logprobs=extra.get("logprobs"),
    )


def request_from_text(text: str) -> Request:
    return Request.from_json(jsoncodec.loads(text))


_LEDGER_STATUS = {status.value: status for status in LedgerStatus}


def ledger_from_row(row: Row) -> LedgerRow:
    """A row selected as `LEDGER_COLUMNS`."""
    status = _LEDGER_STATUS[row[2]]
    return LedgerRow(
        idx=int(row[0]),
        request=request_from_text(row[1]),
        status=status,
        attempt=int(row[3]),
        chunk=None if row[4] is None else int(row[4]),
        result=result_from_row(status, row[5:]),
    )


_DECODER = json.JSONDecoder()
_ID_AT = len('{"id":')


def request_head(text: str) -> tuple[str, str, str]:
    """A stored request's id, model and kind, read from the front of its text:
    `request_to_text` writes `{"id":…,"line":…,"model":…` first, then `"kind":…` unless it is
    a chat request. Any other text is decoded whole."""
    scan = _DECODER.raw_decode
    if text.startswith('{"id":'):
        try:
            request_id, end = scan(text, _ID_AT)
            if text.startswith(',"line":', end):
                _, end = scan(text, end + 8)
                if text.startswith(',"model":', end):
                    model, end = scan(text, end + 9)
                    kind = scan(text, end + 8)[0] if text.startswith(',"kind":', end) else "chat"
                    if isinstance(request_id, str) and isinstance(model, str):
                        return request_id, model, kind
        except ValueError:
            pass
    data = json.loads(text)
    return data["id"], data["model"], data.get("kind", "chat")


def result_record_from_row(row: Row) -> dict[str, JSON]:
    """A row selected as `RECORD_COLUMNS` as its flat results record (the shape of
    `io.records.result_record`), read straight from the columns: no request, result or usage
    object is built on the way, since writing a job's results builds one per request."""
    (_, request_id, request_model, status, attempt, _, custom_id, batch_id, text) = row[:9]
    (parsed, embedding, stop_reason, model, input_tokens, output_tokens) = row[9:15]
    (cached_tokens, error_code) = row[15:17]
    done = custom_id is not None  # the row holds a result
    details = _load_json(row[20]) or {}
    error_message = None if error_code is None else row[17] or ""
    if error_code is None:
        error_message = outcome_reason(status, int(attempt), batch_id if done else None)
        error_code = error_message and status
    return {
        "id": request_id,
        "status": status,
        "text": text,
        "parsed": _load_json(parsed),
        "embedding": _unpack_floats(embedding),
        "stop_reason": stop_reason,
        "model": model or request_model,
        "input_tokens": int(input_tokens or 0) if done else None,
        "output_tokens": int(output_tokens or 0) if done else None,
        "cached_tokens": int(cached_tokens or 0) if done else None,
        "attempts": int(attempt),
        "error_code": error_code,
        "error_message": error_message,
        "batch_id": batch_id or "" if done else None,
        "tool_calls": details.get("tool_calls"),
        "refusal": details.get("refusal"),
        "reasoning_tokens": details.get("reasoning_tokens", 0) if done else None,
        "logprobs": details.get("logprobs"),
    }


def flow_from_row(row: Sequence[Any]) -> FlowRecord:
    return FlowRecord(
        id=row[0],
        name=row[1],
        spec=json.loads(row[2]),
        status=row[3],
        progress=json.loads(row[4]),
        created_at=row[5],
        updated_at=row[6],
        report=_load_json(row[7]),
    )
