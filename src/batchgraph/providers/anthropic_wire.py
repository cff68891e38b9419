"""Anthropic's wire format: our `Request` as a Message Batches request item, a result line as a
`Result`.

Pure translation, no network: the adapter in `anthropic.py` sends and receives, this module only
says what the bytes mean. Anthropic batches carry no metadata, so the batch tag travels inside
every custom_id as `<tag label>-<our custom_id>`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from batchgraph.model import JSON, Kind, Outcome, ProviderError, Request, Result, Usage
from batchgraph.providers.anthropic_cache import mark_shared_prefix
from batchgraph.providers.anthropic_params import DEFAULT_MAX_TOKENS, translate
from batchgraph.providers.base import BatchTag, WireItem
from batchgraph.providers.chat_format import native_elsewhere
from batchgraph.providers.translation import Refusal, refusal_message

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""Anthropic's rule for a request's custom_id."""

_TOOL_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_RETRYABLE = frozenset({"api_error", "overloaded_error", "rate_limit_error", "timeout_error"})


def check_request(request: Request) -> str | None:
    """Why Anthropic would refuse `request`, with the fix; None when it would accept it."""
    if request.kind is Kind.EMBEDDING:
        return (
            "Anthropic has no embeddings API; send embedding requests with "
            "--provider openai or --provider mistral"
        )
    if request.kind is Kind.RESPONSE:
        return (
            "the Responses API (/v1/responses) is OpenAI's own — run this line with "
            "--provider openai, or write it for /v1/chat/completions"
        )
    if not request.model:
        return "no model given; name a Claude model, e.g. claude-haiku-4-5"
    if request.native == "anthropic":
        return None  # Anthropic's own request, for Anthropic to judge
    if request.native is not None:
        return native_elsewhere(request, "Anthropic")
    if request.max_tokens is not None and request.max_tokens < 1:
        return f"max_tokens is {request.max_tokens}; Anthropic needs at least 1"
    if request.temperature is not None and not 0 <= request.temperature <= 1:
        return f"temperature is {request.temperature}; Anthropic accepts 0 to 1"
    try:
        body = translate(request)
    except Refusal as refusal:
        return refusal_message(refusal, "Anthropic")
    chat = [m.get("role") for m in body["messages"]]
    if not chat:
        return "no user message; give at least one message with role user"
    if chat[0] != "user":
        return "the conversation starts with an assistant message; Anthropic needs a user first"
    schema = request.output_schema
    if schema is not None and schema.schema.get("type", "object") != "object":
        return (
            f"output schema {schema.name!r} has type {schema.schema.get('type')!r}; Anthropic "
            'returns structured output as tool input, which must be an object: wrap it in {"type": '
            '"object", "properties": {...}}'
        )
    return None


def wire_custom_id(tag: BatchTag, custom_id: str) -> str:
    """The custom_id sent to Anthropic: the tag's label, a dash, then our own id."""
    return f"{tag.label()}-{custom_id}"


def split_custom_id(wire_id: str) -> tuple[BatchTag | None, str]:
    """The tag and our custom_id inside a wire custom_id (tag None when it carries none).

    A label never holds a dash, so the first dash ends it.
    """
    label, dash, rest = wire_id.partition("-")
    tag = BatchTag.parse(label) if dash else None
    return (tag, rest) if tag is not None else (None, wire_id)


def request_item(item: WireItem, tag: BatchTag | None = None) -> dict[str, JSON]:
    """The `{custom_id, params}` element of a create call's `requests` array."""
    custom_id = item.custom_id if tag is None else wire_custom_id(tag, item.custom_id)
    return {"custom_id": custom_id, "params": message_params(item.request)}


def message_params(request: Request) -> dict[str, JSON]:
    """A non-streaming Messages API body for `request`.

    A request taken from an Anthropic batch file goes as written (the job's options fill in
    what it leaves out); a common request is translated (`anthropic_params`), its long shared
    prefix marked for the prompt cache (`anthropic_cache`).
    """
    if request.native == "anthropic":
        return _native_params(request)
    params = translate(request)
    if request.output_schema is not None:
        name = tool_name(request.output_schema.name)
        params["tools"] = [
            {
                "name": name,
                "description": f"Record the answer as {request.output_schema.name}.",
                "input_schema": request.output_schema.schema,
            }
        ]
        params["tool_choice"] = {"type": "tool", "name": name}
    mark_shared_prefix(params)
    return params


def _native_params(request: Request) -> dict[str, JSON]:
    params: dict[str, JSON] = {"model": request.model}
    given = request.params or {}
    if "max_tokens" not in given:
        params["max_tokens"] = request.max_tokens or DEFAULT_MAX_TOKENS
    params["messages"] = list(request.messages)
    if request.system is not None and "system" not in given:
        params["system"] = request.system
    if request.temperature is not None and "temperature" not in given:
        params["temperature"] = request.temperature
    params.update(given)
    return params


COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")
"""What `messages.count_tokens` takes of a Messages API body."""
TOOL_PROMPT_TOKENS = {"forced": 313, "auto": 346}
"""The system prompt Anthropic adds when tools are offered, in tokens: with `tool_choice`
`any` or `tool` (as a JSON schema is sent), or `auto`/`none` (its figures for Claude 4)."""


def tool_prompt_tokens(params: dict[str, JSON]) -> int:
    """Input tokens Anthropic adds to a body that offers tools (none without tools)."""
    if not params.get("tools"):
        return 0
    choice = params.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else None
    return TOOL_PROMPT_TOKENS["forced" if kind in ("any", "tool") else "auto"]


def tool_name(schema_name: str) -> str:
    """A tool name Anthropic accepts (`^[a-zA-Z0-9_-]{1,64}$`) made from a schema's name."""
    return _TOOL_NAME_UNSAFE.sub("_", schema_name)[:64] or "answer"


def item_size(item: dict[str, JSON]) -> int:
    """Bytes the item adds to the create call's body, as the SDK encodes it, plus its comma."""
    return len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()) + 1


def parse_result_line(line: dict[str, Any], batch_id: str) -> Result:
    """One results line as a `Result`: `custom_id` is ours with the tag prefix stripped, and
    the prefix is kept in `tag` for the collector to check against the chunk it reads for."""
    tag, custom_id = split_custom_id(str(line.get("custom_id", "")))
    parsed = _parse(line.get("result") or {}, custom_id, batch_id)
    parsed.tag = None if tag is None else tag.label()
    return parsed


def _parse(result: dict[str, Any], custom_id: str, batch_id: str) -> Result:
    kind = result.get("type")
    if kind == "succeeded":
        return _succeeded(custom_id, batch_id, result.get("message") or {})
    if kind == "expired":
        return Result(custom_id=custom_id, outcome=Outcome.EXPIRED, batch_id=batch_id)
    if kind == "canceled":
        return Result(custom_id=custom_id, outcome=Outcome.CANCELLED, batch_id=batch_id)
    if kind == "errored":
        error = error_of(result.get("error"))
    else:
        error = ProviderError(
            code="unexpected_result",
            message=f"result type {kind!r} is not one Anthropic documents",
            raw=result,
            retryable=True,
        )
    return Result(custom_id=custom_id, outcome=Outcome.FAILED, batch_id=batch_id, error=error)


def _succeeded(custom_id: str, batch_id: str, message: dict[str, Any]) -> Result:
    """Text blocks make the text; a tool call is also the structured answer of a request that
    asked for a schema (its forced tool's input), and is kept as a tool call either way."""
    blocks = message.get("content") or []
    tool_uses = [b for b in blocks if b.get("type") == "tool_use"]
    parsed: JSON = tool_uses[0].get("input") if tool_uses else None
    if tool_uses:
        text: str | None = json.dumps(parsed, ensure_ascii=False)
    else:
        text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        text=text,
        parsed=parsed,
        stop_reason=message.get("stop_reason"),
        model=message.get("model"),
        usage=usage(message.get("usage") or {}),
        tool_calls=[_tool_call(b) for b in tool_uses] or None,
    )


def _tool_call(block: dict[str, Any]) -> dict[str, JSON]:
    """A `tool_use` block in the common (chat-completions) shape of a tool call."""
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {
            "name": block.get("name"),
            "arguments": json.dumps(block.get("input"), ensure_ascii=False),
        },
    }


def usage(raw: dict[str, Any]) -> Usage:
    """Anthropic counts cache reads and writes apart from `input_tokens`; ours includes them."""
    cache_read = raw.get("cache_read_input_tokens") or 0
    cache_write = raw.get("cache_creation_input_tokens") or 0
    return Usage(
        input_tokens=(raw.get("input_tokens") or 0) + cache_read + cache_write,
        output_tokens=raw.get("output_tokens") or 0,
        cached_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def error_of(body: Any) -> ProviderError:
    """An ErrorResponse (`{"type":"error","error":{type,message},…}`), from an errored line
    or a refused call."""
    inner = body.get("error") if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return ProviderError(
            code="unknown_error", message="errored without an error body", raw=body, retryable=True
        )
    code = str(inner.get("type") or "unknown_error")
    return ProviderError(
        code=code,
        message=str(inner.get("message") or code),
        raw=body,
        retryable=code in _RETRYABLE,
    )
