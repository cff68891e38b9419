"""A chat model's call answered now, on the provider's synchronous API (outside any flow).

The call is read as a plain input line, so it is checked exactly as a job's requests are, and
sent through the synchronous executor (its retries, `Retry-After` and backoff) at the
synchronous price: for trying a graph in a notebook or `langgraph dev` before it runs as a
flow at batch price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage

from batchgraph.errors import InputError
from batchgraph.io.plain import plain_entry
from batchgraph.langchain.convert import ai_message
from batchgraph.model import JSON, Outcome, Result

if TYPE_CHECKING:
    from batchgraph.langchain.chat_model import BatchChatModel


def answer_now(model: BatchChatModel, line: dict[str, JSON]) -> AIMessage:
    """Send one request line synchronously; its answer, or `BatchCallFailed` saying why not."""
    from batchgraph.deps import default_data_dir
    from batchgraph.executors.sync import run_request
    from batchgraph.langchain.chat_model import BatchCallFailed
    from batchgraph.langchain.jobs import read_options, require_target
    from batchgraph.providers import open_provider

    provider_name, _ = require_target(model)
    entry = plain_entry(line, 1, read_options(model))
    if entry.request is None:
        raise InputError("BatchChatModel call", list(entry.problems))
    data_dir = model.data_dir or default_data_dir()
    provider = open_provider(provider_name, sandbox_dir=data_dir / "sandbox")
    result = run_request(provider, entry.request)
    if result.outcome is not Outcome.SUCCEEDED:
        error = result.error
        raise BatchCallFailed(
            f"{provider_name} call failed: {error.message if error else result.outcome.value}"
        )
    return ai_message(result_record(result), provider_name, job_id="")


def result_record(result: Result) -> dict[str, Any]:
    """The fields of a results record that `ai_message` reads, from a `Result`."""
    return {
        "text": result.text,
        "parsed": result.parsed,
        "model": result.model,
        "stop_reason": result.stop_reason,
        "input_tokens": result.usage.input_tokens,
        "output_tokens": result.usage.output_tokens,
        "cached_tokens": result.usage.cached_tokens,
        "batch_id": result.batch_id,
        "tool_calls": result.tool_calls,
    }
