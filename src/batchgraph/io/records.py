"""The shape of one results record, the same for every output format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchgraph.model import JSON, outcome_reason

if TYPE_CHECKING:
    from batchgraph.store.base import LedgerRow

RESULT_COLUMNS = (
    "id",
    "status",
    "text",
    "parsed",
    "embedding",
    "stop_reason",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "attempts",
    "error_code",
    "error_message",
    "batch_id",
    "tool_calls",
    "refusal",
    "reasoning_tokens",
    "logprobs",
)


def result_record(row: LedgerRow) -> dict[str, JSON]:
    """One ledger row as a flat record; fields without a value are None.

    The store builds the same record straight from its columns
    (`store.rows.result_record_from_row`); a test holds the two together."""
    result = row.result
    usage = result.usage if result is not None else None
    error = result.error if result is not None else None
    batch_id = result.batch_id if result else None
    reason = None if error else outcome_reason(row.status.value, row.attempt, batch_id)
    return {
        "id": row.request_id,
        "status": row.status.value,
        "text": result.text if result else None,
        "parsed": result.parsed if result else None,
        "embedding": result.embedding if result else None,
        "stop_reason": result.stop_reason if result else None,
        "model": (result.model if result else None) or row.request_model,
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "attempts": row.attempt,
        "error_code": error.code if error else reason and row.status.value,
        "error_message": error.message if error else reason,
        "batch_id": batch_id,
        "tool_calls": result.tool_calls if result else None,
        "refusal": result.refusal if result else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "logprobs": result.logprobs if result else None,
    }
