"""The chat-completions shapes OpenAI and Mistral share: messages, JSON-schema answers, usage."""

from __future__ import annotations

import json
from typing import Any

from batchgraph.model import JSON, OutputSchema, Request, Usage


def chat_messages(request: Request) -> list[dict[str, str]]:
    """The conversation, with the system prompt as its first message."""
    messages: list[dict[str, str]] = []
    if request.system is not None:
        messages.append({"role": "system", "content": request.system})
    messages.extend(request.messages)
    return messages


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
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
    )
