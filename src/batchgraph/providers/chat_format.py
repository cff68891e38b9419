"""The chat-completions shapes OpenAI and Mistral share: messages, JSON-schema answers, usage."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from batchgraph.model import JSON, Kind, OutputSchema, Request, Usage


def basic_problem(
    request: Request, provider: str, temperature_range: tuple[float, float], advice: str = ""
) -> str | None:
    """What any chat-completions provider refuses: a temperature out of range, max_tokens
    below 1, an embedding without input, a chat without messages (with the fix)."""
    low, high = temperature_range
    if request.temperature is not None and not low <= request.temperature <= high:
        return (
            f"{provider} accepts temperature from {low} to {high}, not {request.temperature}; "
            f"set a temperature in that range{advice}"
        )
    if request.max_tokens is not None and request.max_tokens < 1:
        return f"{provider} needs max_tokens of at least 1; raise it or leave it out"
    if request.kind is Kind.EMBEDDING:
        return (
            None if request.input else f"a {provider} embedding request needs a non-empty `input`"
        )
    if request.kind is Kind.RESPONSE:
        return (
            f"the Responses API (/v1/responses) is OpenAI's own; {provider} has no such "
            "endpoint — run this line with --provider openai, or write it for "
            "/v1/chat/completions"
        )
    if not request.messages:
        return f"a {provider} chat request needs at least one message; add a user message"
    return None


def native_elsewhere(request: Request, provider: str) -> str:
    """The refusal of a line written in another provider's own batch format."""
    return (
        f"this line is in {request.native}'s own batch format, which {provider} does not "
        f"read — run it with --provider {request.native}, or write it as a plain JSONL line "
        "(see docs/request-fields.md) to run it anywhere"
    )


def wants_json(request: Request) -> bool:
    """True when the answer is asked for as JSON (a schema, or JSON mode) and is parsed."""
    if request.output_schema is not None:
        return True
    fmt = (request.params or {}).get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object")


def chat_messages(request: Request) -> list[dict[str, JSON]]:
    """The conversation, with the system prompt as its first message."""
    return with_system(request.system, request.messages)


def with_system(system: str | None, messages: Iterable[dict[str, JSON]]) -> list[dict[str, JSON]]:
    """`messages` after a first message holding `system`, if there is one."""
    conversation: list[dict[str, JSON]] = (
        [] if system is None else [{"role": "system", "content": system}]
    )
    conversation.extend(messages)
    return conversation


def content_text(content: JSON) -> str:
    """The text of a message content: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def json_schema_format(schema: OutputSchema, name: str) -> dict[str, JSON]:
    """`response_format` asking for an answer that follows `schema` strictly."""
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema.schema, "strict": True},
    }


def parse_json_answer(text: Any) -> JSON:
    """The structured answer; None when the text is not JSON (e.g. cut off by max_tokens)."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def usage_of(usage: JSON) -> Usage:
    """Chat and embedding usage; cached tokens come from `prompt_tokens_details`."""
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("prompt_tokens_details") or {}
    output_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
        reasoning_tokens=int(output_details.get("reasoning_tokens") or 0),
    )


def responses_usage(usage: JSON) -> Usage:
    """The Responses API's usage (`input_tokens`, `output_tokens` and their details)."""
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
        reasoning_tokens=int(output_details.get("reasoning_tokens") or 0),
    )
