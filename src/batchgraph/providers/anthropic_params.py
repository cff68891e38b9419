"""The common request (chat-completions vocabulary) as a Messages API body.

System and developer messages become `system`; image parts become image blocks (a URL source,
or base64 from a data URL); an assistant's `tool_calls` become `tool_use` blocks and tool
results `tool_result` blocks; tools, tool choice, stop sequences, top_p and reasoning effort
(as a thinking budget) are renamed. What Anthropic cannot carry raises `Refusal` naming the
field (docs/request-fields.md lists each one).
"""

from __future__ import annotations

import json
import re

from batchgraph.model import JSON, Request
from batchgraph.providers.translation import (
    REASONING_BUDGETS,
    Refusal,
    extra_for,
    max_output,
    unknown_field,
)

DEFAULT_MAX_TOKENS = 1024
"""Anthropic requires `max_tokens`; requests that name none get this much room."""

SYSTEM_ROLES = frozenset({"system", "developer"})
_DATA_URL = re.compile(r"^data:(image/(?:jpeg|png|gif|webp));base64,(.+)$", re.DOTALL)
_TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}

_REFUSED = {
    "seed": "Anthropic takes no seed; remove it (answers are not reproducible there)",
    "logprobs": "Anthropic returns no log probabilities; remove it",
    "top_logprobs": "Anthropic returns no log probabilities; remove it",
    "frequency_penalty": "Anthropic has no frequency penalty; remove it",
    "presence_penalty": "Anthropic has no presence penalty; remove it",
    "metadata": (
        "Anthropic's request metadata holds only a user id; give it as user, and keep your "
        "own labels in the input"
    ),
    "logit_bias": "Anthropic has no logit bias; remove it",
    "modalities": "Anthropic answers in text only; remove it",
    "audio": "Anthropic answers in text only; remove it",
    "prediction": "Anthropic takes no predicted output; remove it",
    "store": "Anthropic does not store completions; remove it",
    "web_search_options": (
        'give Anthropic\'s web search tool under "extra": {"anthropic": {"tools": [...]}}'
    ),
}
_DROPPED_WHEN = {"n": 1, "logprobs": False, "parallel_tool_calls": True, "stream": False}
"""Values that ask for what Anthropic does anyway, so the field is left out."""


def translate(request: Request) -> dict[str, JSON]:
    """The Messages API body (`model`, `max_tokens`, `messages`, …) for a common request."""
    system, messages = _conversation(request)
    limit = max_output(request)
    body: dict[str, JSON] = {
        "model": request.model,
        "max_tokens": limit or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        body["system"] = "\n\n".join(system)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.params:
        _options(request, request.params, body, limit)
    body.update(extra_for(request, "anthropic"))
    return body


def _conversation(request: Request) -> tuple[list[str], list[dict[str, JSON]]]:
    system = [request.system] if request.system else []
    messages: list[dict[str, JSON]] = []
    for position, message in enumerate(request.messages):
        role = message.get("role")
        where = f"messages[{position}]"
        if role in SYSTEM_ROLES:
            system.append(_plain_text(message.get("content"), where))
        elif role == "user":
            messages.append({"role": "user", "content": _content(message.get("content"), where)})
        elif role == "assistant":
            messages.append({"role": "assistant", "content": _assistant(message, where)})
        elif role == "tool":
            if not messages or not _asks_tools(messages[-1]):
                raise Refusal(
                    f"{where}.role",
                    "a tool result must follow the assistant message whose tool call it answers",
                )
            messages.append({"role": "user", "content": [_tool_result(message, where)]})
        else:
            raise Refusal(f"{where}.role", f"{role!r} is no role Anthropic knows")
    if not messages and request.input:
        messages.append({"role": "user", "content": request.input})
    return system, messages


def _asks_tools(message: dict[str, JSON]) -> bool:
    """An assistant turn that called tools, or a tool result (several may follow one turn)."""
    content = message.get("content")
    blocks = content if isinstance(content, list) else []
    kinds = {block.get("type") for block in blocks if isinstance(block, dict)}
    return "tool_use" in kinds or "tool_result" in kinds


def _plain_text(content: JSON, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") == "text" for p in content
    ):
        return "".join(str(p.get("text", "")) for p in content)
    raise Refusal(f"{where}.content", "a system prompt on Anthropic is text only")


def _content(content: JSON, where: str) -> JSON:
    """A string stays a string; parts become Anthropic's content blocks."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise Refusal(f"{where}.content", "give text or a list of text and image parts")
    return [_block(part, f"{where}.content[{index}]") for index, part in enumerate(content)]


def _block(part: JSON, where: str) -> dict[str, JSON]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return {"type": "text", "text": part["text"]}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return {"type": "image", "source": {"type": "url", "url": url}}
        match = _DATA_URL.match(url) if isinstance(url, str) else None
        if match is None:
            raise Refusal(
                where, "Anthropic reads images from http(s) URLs or base64 JPEG/PNG/GIF/WebP"
            )
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": match[1], "data": match[2]},
        }
    raise Refusal(where, f"a part of type {kind!r} has no Anthropic block; send text or images")


def _assistant(message: dict[str, JSON], where: str) -> JSON:
    content = message.get("content")
    calls = message.get("tool_calls")
    if not calls:
        return _content(content if content is not None else "", where)
    blocks: list[JSON] = []
    if content:
        text = _content(content, where)
        blocks.extend([{"type": "text", "text": text}] if isinstance(text, str) else text)
    for index, call in enumerate(calls if isinstance(calls, list) else []):
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            raise Refusal(
                f"{where}.tool_calls[{index}].function.arguments",
                "Anthropic takes a tool call's arguments as a JSON object; write them as one",
            )
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": arguments,
            }
        )
    return blocks


def _tool_result(message: dict[str, JSON], where: str) -> dict[str, JSON]:
    content = message.get("content")
    return {
        "type": "tool_result",
        "tool_use_id": message.get("tool_call_id"),
        "content": content if isinstance(content, str) else _content(content, where),
    }


def _options(
    request: Request, params: dict[str, JSON], body: dict[str, JSON], limit: int | None
) -> None:
    for name, value in params.items():
        if name in ("extra", "max_completion_tokens"):
            continue
        if _DROPPED_WHEN.get(name, _NOTHING) == value:
            continue
        if name in _REFUSED:
            raise Refusal(name, _REFUSED[name])
        if name == "top_p":
            body["top_p"] = value
        elif name == "stop":
            body["stop_sequences"] = [value] if isinstance(value, str) else value
        elif name == "tools":
            body["tools"] = [_tool(tool) for tool in value]
        elif name == "tool_choice":
            body["tool_choice"] = _tool_choice(value)
        elif name == "parallel_tool_calls":
            continue  # False: set on the tool choice below
        elif name == "user":
            body["metadata"] = {"user_id": value}
        elif name in ("reasoning_effort", "thinking_budget"):
            budget = REASONING_BUDGETS.get(value) if name == "reasoning_effort" else value
            _thinking(body, name, budget, limit)
        elif name == "response_format":
            _response_format(request, value)
        elif name == "service_tier":
            if value != "auto":
                raise Refusal(name, f"Anthropic's tiers are not OpenAI's; {value!r} has no match")
            body["service_tier"] = "auto"
        elif name == "n":
            raise Refusal(name, "Anthropic gives one answer per request; send n copies instead")
        else:
            raise unknown_field(name, "Anthropic")
    if params.get("parallel_tool_calls") is False:
        choice = body.setdefault("tool_choice", {"type": "auto"})
        if isinstance(choice, dict):
            choice["disable_parallel_tool_use"] = True
    if "tools" in params and request.output_schema is not None:
        raise Refusal(
            "tools",
            "on Anthropic a JSON schema is itself a forced tool; ask for tools or a schema, "
            "not both",
        )


_NOTHING = object()


def _tool(tool: JSON) -> dict[str, JSON]:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or tool.get("type", "function") != "function":
        raise Refusal("tools", "only function tools translate to Anthropic")
    out: dict[str, JSON] = {
        "name": function.get("name"),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(value: JSON) -> dict[str, JSON]:
    if isinstance(value, str) and value in _TOOL_CHOICES:
        return dict(_TOOL_CHOICES[value])
    function = value.get("function") if isinstance(value, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return {"type": "tool", "name": function["name"]}
    raise Refusal("tool_choice", f"{value!r} has no Anthropic equivalent")


def _thinking(body: dict[str, JSON], name: str, budget: JSON, limit: int | None) -> None:
    if not isinstance(budget, int) or budget < 1024:
        raise Refusal(name, "Anthropic's thinking budget is at least 1024 tokens")
    if limit is None:
        body["max_tokens"] = budget + DEFAULT_MAX_TOKENS
    elif limit <= budget:
        raise Refusal(
            name,
            f"Anthropic needs max_tokens above the thinking budget ({budget}); raise "
            f"max_tokens above {budget} or leave it out",
        )
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _response_format(request: Request, value: JSON) -> None:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text" or (kind == "json_schema" and request.output_schema is not None):
        return  # the schema is sent as a forced tool (see anthropic_wire)
    raise Refusal(
        "response_format",
        "Anthropic has no JSON mode; give a JSON schema (--json-schema FILE, or a "
        "response_format of type json_schema) to get JSON back",
    )
