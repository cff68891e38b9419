"""What the sandbox's Anthropic endpoint refuses, in Anthropic's words where they are known.

Two levels, as at Anthropic: a create call whose shape is wrong (ids, caps, required fields) is
refused whole with a 400; params that are well formed but unacceptable (a temperature of 3, an
empty conversation) are accepted and come back as that request's `errored` result.
"""

from __future__ import annotations

import re
from typing import Any

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1000 * 1000
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = frozenset({"user", "assistant"})


class CreateRefused(Exception):
    """The whole create call is refused: `status` and an Anthropic error type and message."""

    def __init__(self, message: str, status: int = 400, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


def check_size(size: int) -> None:
    """Refuse a body over Anthropic's 256 MB batch limit before parsing it."""
    if size > MAX_BYTES:
        raise CreateRefused(
            f"Request body is {size} bytes; a message batch may be at most {MAX_BYTES} bytes",
            status=413,
            kind="request_too_large",
        )


def check_create(body: Any) -> list[dict[str, Any]]:
    """The create body's request items, or `CreateRefused` naming the first problem."""
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise CreateRefused("requests: Field required")
    requests: list[Any] = body["requests"]
    if not requests:
        raise CreateRefused("requests: List should have at least 1 item")
    if len(requests) > MAX_REQUESTS:
        raise CreateRefused(
            f"requests: a message batch may hold at most {MAX_REQUESTS} requests, "
            f"got {len(requests)}"
        )
    seen: set[str] = set()
    for index, item in enumerate(requests):
        custom_id = _check_item(index, item)
        if custom_id in seen:
            raise CreateRefused(
                f"requests.{index}.custom_id: {custom_id!r} is used more than once; "
                "custom_id must be unique within a batch"
            )
        seen.add(custom_id)
    return requests


def _check_item(index: int, item: Any) -> str:
    where = f"requests.{index}"
    if not isinstance(item, dict):
        raise CreateRefused(f"{where}: Input should be an object")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str):
        raise CreateRefused(f"{where}.custom_id: Field required")
    if not CUSTOM_ID.match(custom_id):
        raise CreateRefused(f"{where}.custom_id: String should match pattern '{CUSTOM_ID.pattern}'")
    params = item.get("params")
    if not isinstance(params, dict):
        raise CreateRefused(f"{where}.params: Field required")
    if not isinstance(params.get("model"), str) or not params["model"]:
        raise CreateRefused(f"{where}.params.model: Field required")
    max_tokens = params.get("max_tokens")
    if max_tokens is None:
        raise CreateRefused(f"{where}.params.max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise CreateRefused(
            f"{where}.params.max_tokens: Input should be greater than or equal to 1"
        )
    if not isinstance(params.get("messages"), list):
        raise CreateRefused(f"{where}.params.messages: Field required")
    return custom_id


def params_problem(params: dict[str, Any]) -> str | None:
    """Why Anthropic would answer this request with an `invalid_request_error`, if it would."""
    messages: list[Any] = params["messages"]
    if not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
    if messages[0].get("role") != "user":
        return 'messages: the first message must use the "user" role'
    temperature = params.get("temperature")
    if temperature is not None and (
        not isinstance(temperature, int | float) or not 0 <= temperature <= 1
    ):
        return "temperature: Input should be less than or equal to 1 and at least 0"
    tool_choice = params.get("tool_choice")
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "tool":
        names = {t.get("name") for t in params.get("tools") or [] if isinstance(t, dict)}
        if tool_choice.get("name") not in names:
            return f"tool_choice: tool {tool_choice.get('name')!r} is not among the tools"
    return None
