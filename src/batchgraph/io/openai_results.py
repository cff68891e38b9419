"""Results as OpenAI's batch output lines, whatever the provider: `--results-format openai`.

Each record becomes `{"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error"}` with a `chat.completion` (or embeddings `list`) body, or `"response": null` and an
`error` for a request that did not succeed, so scripts written for OpenAI's output files read
jobs run anywhere. `custom_id` is the input's own id. A Responses API answer is written as a
chat completion: the record keeps its text, tool calls and usage, not the Responses shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from batchgraph.model import JSON

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "model_length": "length",
    "completed": "stop",
    "max_output_tokens": "length",
}
"""Other providers' stop reasons in OpenAI's words."""

UNFINISHED = {
    "expired": ("batch_expired", "This request could not be executed before the window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed: the batch was cancelled."),
    "missing": ("missing", "The provider's results never mentioned this request."),
}


def openai_output_lines(records: Iterable[dict[str, JSON]]) -> Iterator[dict[str, JSON]]:
    for number, record in enumerate(records, start=1):
        yield openai_output_line(record, number)


def openai_output_line(record: dict[str, JSON], number: int) -> dict[str, JSON]:
    """One record as an OpenAI batch output (or error file) line."""
    line: dict[str, JSON] = {
        "id": f"batch_req_{number:024x}",
        "custom_id": record["id"],
        "response": None,
        "error": None,
    }
    status = record.get("status")
    refusal = record.get("refusal")
    if status == "succeeded" or refusal:
        body = _embedding(record) if record.get("embedding") is not None else _chat(record)
        line["response"] = {"status_code": 200, "request_id": f"req_{number:024x}", "body": body}
        return line
    code, message = UNFINISHED.get(str(status), (None, None))
    line["error"] = {
        "code": record.get("error_code") or code or str(status),
        "message": record.get("error_message") or message or f"the request is {status}",
    }
    return line


def _chat(record: dict[str, JSON]) -> dict[str, Any]:
    calls = record.get("tool_calls")
    message: dict[str, JSON] = {
        "role": "assistant",
        "content": record.get("text"),
        "refusal": record.get("refusal"),
    }
    if calls:
        message["tool_calls"] = calls
    stop = record.get("stop_reason")
    return {
        "id": f"chatcmpl-{record['id']}",
        "object": "chat.completion",
        "created": 0,
        "model": record.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": record.get("logprobs"),
                "finish_reason": FINISH_REASONS.get(str(stop), stop or "stop"),
            }
        ],
        "usage": _usage(record),
    }


def _usage(record: dict[str, JSON]) -> dict[str, Any]:
    prompt = int(record.get("input_tokens") or 0)
    completion = int(record.get("output_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": int(record.get("cached_tokens") or 0)},
        "completion_tokens_details": {"reasoning_tokens": int(record.get("reasoning_tokens") or 0)},
    }


def _embedding(record: dict[str, JSON]) -> dict[str, Any]:
    prompt = int(record.get("input_tokens") or 0)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": record["embedding"]}],
        "model": record.get("model"),
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }
