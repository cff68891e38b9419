"""Mistral's batch wire format: request bodies going in, result lines coming out.

Pure functions with no I/O, so they can be read against the provider documentation at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO

from batchgraph import jsoncodec
from batchgraph.model import JSON, Kind, Outcome, ProviderError, Request, Result
from batchgraph.providers.base import WireItem
from batchgraph.providers.chat_format import (
    basic_problem,
    chat_messages,
    json_schema_format,
    native_elsewhere,
    parse_json_answer,
    usage_of,
    with_system,
)
from batchgraph.providers.translation import (
    Refusal,
    extra_for,
    max_output,
    refusal_message,
    unknown_field,
)

ENDPOINTS = {Kind.CHAT: "/v1/chat/completions", Kind.EMBEDDING: "/v1/embeddings"}
TEMPERATURE_RANGE = (0.0, 1.5)
ROLES = ("system", "user", "assistant", "tool")


# -- requests ----------------------------------------------------------------------------


def check_request(request: Request) -> str | None:
    """What Mistral would refuse in this request, with the fix (see `Provider.check_request`)."""
    if request.native == "mistral":
        return None  # Mistral's own request, for Mistral to judge
    if request.native is not None:
        return native_elsewhere(request, "Mistral")
    problem = basic_problem(request, "Mistral", TEMPERATURE_RANGE, " (0.0–0.7 is recommended)")
    if problem is not None:
        return problem
    try:
        body = request_body(request)
    except Refusal as refusal:
        return refusal_message(refusal, "Mistral")
    if request.kind is Kind.EMBEDDING:
        return None
    if body["messages"][-1].get("role") == "assistant":
        return "Mistral needs the last message to come from the user; end with a user message"
    return None


def request_body(request: Request) -> dict[str, JSON]:
    """The body Mistral's endpoint takes; the model is named once, on the job.

    Mistral's chat completions speak the common vocabulary nearly word for word: messages,
    images, tools and JSON modes go as given, a few fields are renamed, and what Mistral
    cannot carry raises `Refusal` (docs/request-fields.md).
    """
    if request.native == "mistral":
        return _native_body(request)
    params = request.params or {}
    if request.kind is Kind.EMBEDDING:
        body: dict[str, JSON] = {"input": request.input}
        _embedding_options(params, body)
        return body
    body = {"messages": _messages(request)}
    limit = max_output(request)
    if limit is not None:
        body["max_tokens"] = limit
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.output_schema is not None:
        schema = request.output_schema
        body["response_format"] = json_schema_format(schema, schema.name)
    if params:
        _chat_options(params, body)
        body.update(extra_for(request, "mistral"))
    return body


def _native_body(request: Request) -> dict[str, JSON]:
    given = request.params or {}
    if request.kind is Kind.EMBEDDING:
        return {"input": request.input, **given} if "input" not in given else dict(given)
    body: dict[str, JSON] = {"messages": with_system(request.system, request.messages)}
    if request.max_tokens is not None and "max_tokens" not in given:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None and "temperature" not in given:
        body["temperature"] = request.temperature
    body.update(given)
    return body


def _messages(request: Request) -> list[dict[str, JSON]]:
    """Developer messages are system messages to Mistral; the rest go as given."""
    messages = chat_messages(request)
    for position, message in enumerate(messages):
        role = message.get("role")
        if role == "developer":
            messages[position] = {**message, "role": "system"}
        elif role not in ROLES:
            raise Refusal(
                f"messages[{position}].role",
                f"Mistral does not know the message role {role!r}; use one of "
                f"{', '.join(ROLES)} (put instructions in `system`)",
            )
    return messages


_CHAT_PASSED = frozenset(
    {
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "presence_penalty",
        "frequency_penalty",
        "n",
    }
)
_RENAMED = {"seed": "random_seed"}
_REFUSED = {
    "reasoning_effort": (
        "Mistral has no reasoning effort; its reasoning models (magistral-*) always reason — "
        "remove it"
    ),
    "thinking_budget": "Mistral takes no thinking budget; remove it",
    "logprobs": "Mistral's batch answers carry no log probabilities; remove it",
    "top_logprobs": "Mistral's batch answers carry no log probabilities; remove it",
    "metadata": "Mistral keeps metadata per batch, not per request; remove it",
    "service_tier": "Mistral has no service tiers; remove it",
    "user": "Mistral takes no end-user id; remove it",
}
_DROPPED_WHEN = {"logprobs": False, "stream": False}


def _chat_options(params: dict[str, JSON], body: dict[str, JSON]) -> None:
    for name, value in params.items():
        if name in ("extra", "max_completion_tokens") or _DROPPED_WHEN.get(name, ...) == value:
            continue
        if name in _CHAT_PASSED:
            body[name] = value
        elif name in _RENAMED:
            body[_RENAMED[name]] = value
        elif name in _REFUSED:
            raise Refusal(name, _REFUSED[name])
        else:
            raise unknown_field(name, "Mistral")


def _embedding_options(params: dict[str, JSON], body: dict[str, JSON]) -> None:
    for name, value in params.items():
        if name == "extra":
            continue
        if name == "dimensions":
            body["output_dimension"] = value
        elif name == "encoding_format" and value == "float":
            continue
        elif name == "input":
            body["input"] = value
        else:
            raise unknown_field(name, "Mistral")


def jsonl_line(item: WireItem) -> bytes:
    """The item as one line of the batch input file, newline included."""
    line = {"custom_id": item.custom_id, "body": request_body(item.request)}
    return jsoncodec.dumps_bytes(line) + b"\n"


def write_jsonl(items: Iterable[WireItem], out: IO[bytes]) -> None:
    for item in items:
        out.write(jsonl_line(item))


def custom_id_of(line: str) -> str | None:
    """The custom_id of an input line."""
    entry = json.loads(line)
    custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
    return None if custom_id is None else str(custom_id)


def asks_for_schema(line: str) -> str | None:
    """The custom_id of an input line whose body asks for a JSON schema, else None."""
    entry = json.loads(line)
    body = entry.get("body") if isinstance(entry, dict) else None
    response_format = body.get("response_format") if isinstance(body, dict) else None
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_schema",
        "json_object",
    ):
        return str(entry.get("custom_id"))
    return None


# -- results -----------------------------------------------------------------------------


def parse_result_line(
    line: str, batch_id: str, embeddings: bool, wants_json: Callable[[str], bool]
) -> Result | None:
    """One output- or error-file line as a `Result` (None for a line without a custom_id).

    A line is failed when `error` is set or the status is ≥ 400, as in `mistralai.extra.batch`.
    """
    entry: dict[str, JSON] = jsoncodec.loads(line)
    custom_id = entry.get("custom_id")
    if custom_id is None:
        return None
    response = entry.get("response") or {}
    status_code = response.get("status_code")
    body = response.get("body")
    error = entry.get("error")
    if error is not None or (status_code is not None and status_code >= 400):
        return Result(
            custom_id=custom_id,
            outcome=Outcome.FAILED,
            batch_id=batch_id,
            error=provider_error(status_code, body, error, entry),
        )
    body = body if isinstance(body, dict) else {}
    return response_result(custom_id, batch_id, body, embeddings, wants_json(custom_id))


def response_result(
    custom_id: str, batch_id: str, body: dict[str, JSON], embeddings: bool, wants_json: bool
) -> Result:
    """A 200 body of the chat or embeddings endpoint (in a batch line or a direct call)."""
    if embeddings:
        data = body.get("data") or [{}]
        return Result(
            custom_id=custom_id,
            outcome=Outcome.SUCCEEDED,
            batch_id=batch_id,
            embedding=data[0].get("embedding"),
            model=body.get("model"),
            usage=usage_of(body.get("usage")),
        )
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    text = text_of(message.get("content"))
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        text=text,
        parsed=parse_json_answer(text) if wants_json else None,
        stop_reason=choice.get("finish_reason"),
        model=body.get("model"),
        usage=usage_of(body.get("usage")),
        tool_calls=message.get("tool_calls") or None,
    )


def text_of(content: JSON) -> str | None:
    """Message content is a string, or a list of chunks (reasoning models add `thinking`)."""
    if content is None or isinstance(content, str):
        return content
    return "".join(
        chunk.get("text", "")
        for chunk in content
        if isinstance(chunk, dict) and chunk.get("type") == "text"
    )


def provider_error(status_code: int | None, body: JSON, error: JSON, raw: JSON) -> ProviderError:
    """A failed line's error; retryable for rate limits and server errors."""
    source = error if error is not None else body
    code: JSON = None
    message: JSON = None
    if isinstance(source, dict):
        code = source.get("code") or source.get("type")
        message = source.get("message") or source.get("detail")
    elif source is not None:
        message = source
    if code is None:
        code = f"http_{status_code}" if status_code is not None else "error"
    retryable = status_code is not None and (status_code == 429 or status_code >= 500)
    return ProviderError(
        code=str(code), message=message_text(message, status_code), raw=raw, retryable=retryable
    )


def message_text(message: JSON, status_code: int | None) -> str:
    """Mistral's messages are strings or FastAPI-style `{"detail": [{loc, msg}, …]}`."""
    if isinstance(message, dict) and "detail" in message:
        message = message["detail"]
    if isinstance(message, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg', d)}"
            if isinstance(d, dict)
            else str(d)
            for d in message
        )
    if message is None:
        return f"request failed with HTTP {status_code}"
    return str(message)
