"""LangChain messages to batchgraph request lines, and results records back to `AIMessage`s.

A request line is the plain JSONL form a user would write (`{"id", "messages", "model", …}`),
so a model's calls go through the same reader, validation, ledger and adapters as a file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.utils import convert_to_openai_messages

from batchgraph.model import JSON


def request_line(
    request_id: str,
    messages: Sequence[BaseMessage],
    settings: Mapping[str, JSON],
) -> dict[str, JSON]:
    """One plain JSONL line: the messages in OpenAI's chat form, and the model's settings."""
    converted = convert_to_openai_messages(list(messages))
    line: dict[str, JSON] = {"id": request_id, "messages": _plain(converted)}
    line.update({key: value for key, value in settings.items() if value is not None})
    return line


def _plain(messages: Any) -> JSON:
    """Messages as JSON values only (LangChain may hand back tuples or its own types)."""
    return json.loads(json.dumps(messages, default=str))


def request_hash(line: Mapping[str, JSON]) -> str:
    """What a request asks, whatever its id: answers are checked against it before use."""
    content = {key: value for key, value in line.items() if key != "id"}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def ai_message(record: Mapping[str, Any], provider: str, job_id: str) -> AIMessage:
    """A succeeded results record as the `AIMessage` a chat model returns."""
    text = record.get("text")
    parsed = record.get("parsed")
    if text is None and parsed is not None:
        text = json.dumps(parsed)
    input_tokens = int(record.get("input_tokens") or 0)
    output_tokens = int(record.get("output_tokens") or 0)
    usage: UsageMetadata = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    cached = record.get("cached_tokens")
    if cached:
        usage["input_token_details"] = {"cache_read": int(cached)}
    metadata: dict[str, Any] = {
        "model_name": record.get("model"),
        "finish_reason": record.get("stop_reason"),
        "batchgraph_job": job_id,
        "batch_id": record.get("batch_id"),
        "provider": provider,
    }
    return AIMessage(
        content=text or "",
        usage_metadata=usage,
        response_metadata=metadata,
        tool_calls=_tool_calls(record.get("tool_calls")),
    )


def _tool_calls(value: Any) -> list[Any]:
    """Tool calls of a record, in LangChain's form (`name`, `args` as a dict, `id`)."""
    if not isinstance(value, list):
        return []
    calls = []
    for call in value:
        if not isinstance(call, dict):
            continue
        inner = call.get("function")
        function: dict[str, Any] = inner if isinstance(inner, dict) else call
        arguments = function.get("arguments", function.get("args", {}))
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError:
                arguments = {"_raw": arguments}
        calls.append({"name": function.get("name", ""), "args": arguments, "id": call.get("id")})
    return calls
