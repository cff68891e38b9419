"""OpenAI's batch wire format: input lines going in, output/error-file lines coming out.

Pure functions with no I/O, so they can be read against the provider documentation at once.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from batchgraph import jsoncodec
from batchgraph.model import JSON, Kind, Outcome, OutputSchema, ProviderError, Request, Result
from batchgraph.providers.base import WireItem
from batchgraph.providers.chat_format import (
    basic_problem,
    chat_messages,
    json_schema_format,
    native_elsewhere,
    parse_json_answer,
    responses_usage,
    usage_of,
    wants_json,
)

CHAT_URL = "/v1/chat/completions"
ENDPOINTS = {
    Kind.CHAT: CHAT_URL,
    Kind.EMBEDDING: "/v1/embeddings",
    Kind.RESPONSE: "/v1/responses",
}
TEMPERATURE_RANGE = (0.0, 2.0)
SCHEMA_NAME = re.compile(r"[^a-zA-Z0-9_-]")
RETRYABLE_CODES = {"server_error", "rate_limit_exceeded", "batch_expired", "internal_error"}
UNFINISHED = {"batch_expired": Outcome.EXPIRED, "batch_cancelled": Outcome.CANCELLED}

LINE_OVERHEAD_BOUND = 256
"""Bytes an input line may take beyond its request's stored JSON and its custom_id.

The line wraps the body in `{"custom_id":"…","method":"POST","url":"…","body":…}` and a
newline (70 bytes with the longest url). The body repeats the stored request's values with
these keys grown at most: the system prompt as a first message (+19), `"messages":[]` when
there are none (+14), `max_completion_tokens` for `max_tokens` (+11), `response_format` for
`output_schema` (+53, and +6 when its name becomes "answer"); `params` are written flat, in
fewer bytes than stored; an embedding's body takes fewer bytes than its stored request
(`"input":null` +13 at worst). 173 in all; 256 keeps a margin.
`tests/test_planning.py` checks the bound against real lines.
"""


# -- requests ----------------------------------------------------------------------------


def check_request(request: Request) -> str | None:
    """What OpenAI would refuse in this request, with the fix (see `Provider.check_request`)."""
    if request.native is not None:
        return native_elsewhere(request, "OpenAI")
    if request.kind is Kind.RESPONSE:
        return None  # a Responses API body is OpenAI's own, and goes as written
    problem = basic_problem(request, "OpenAI", TEMPERATURE_RANGE)
    if problem is None and request.params and "thinking_budget" in request.params:
        return (
            "field thinking_budget: OpenAI takes no thinking budget — use reasoning_effort "
            "(minimal, low, medium or high) with a reasoning model"
        )
    return problem


def endpoint(request: Request, url_root: str = "/v1") -> str:
    """The request's batch endpoint; `url_root` is what a host puts before
    `/chat/completions` (Azure: nothing)."""
    return url_root + ENDPOINTS[request.kind].removeprefix("/v1")


REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")
"""Model name prefixes of OpenAI's reasoning models, which refuse `max_tokens` and take
`max_completion_tokens`."""


_CL100K_MODELS = ("gpt-4-", "gpt-3.5", "text-embedding")
_O200K_MODELS = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-", "gpt-oss")


def tokenizer(model: str) -> str | None:
    """OpenAI's encoding for `model` (`tiktoken`'s names); None for a model of another
    maker served over OpenAI's protocol (Groq's, Together's)."""
    if model == "gpt-4" or model.startswith(_CL100K_MODELS):
        return "cl100k_base"
    return "o200k_base" if model.startswith(_O200K_MODELS) else None


def request_body(request: Request) -> dict[str, JSON]:
    """The body of one request for its endpoint, model included (OpenAI wants it per line).

    `params` are OpenAI's own names, so they go as given (`extra.openai` merged in); only a
    reasoning model's `max_tokens` is renamed, as OpenAI requires.
    """
    params = request.params or {}
    if request.kind is Kind.RESPONSE:
        return {"model": request.model, **params}
    if request.kind is Kind.EMBEDDING:
        body: dict[str, JSON] = {"model": request.model, "input": request.input}
    else:
        body = _chat_body(
            request.model,
            chat_messages(request),
            request.max_tokens,
            request.temperature,
            request.output_schema,
        )
    if params:
        body.update(params)
        extra = body.pop("extra", None)
        if isinstance(extra, dict) and isinstance(extra.get("openai"), dict):
            body.update(extra["openai"])
    return body


def _chat_body(
    model: str,
    messages: JSON,
    max_tokens: JSON,
    temperature: JSON,
    schema: OutputSchema | None = None,
) -> dict[str, JSON]:
    body: dict[str, JSON] = {"model": model, "messages": messages}
    if max_tokens is not None:
        key = "max_completion_tokens" if model.startswith(REASONING_MODELS) else "max_tokens"
        body[key] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    if schema is not None:
        name = SCHEMA_NAME.sub("_", schema.name)[:64] or "answer"
        body["response_format"] = json_schema_format(schema, name)
    return body


def input_line(item: WireItem, url_root: str = "/v1") -> bytes:
    """One JSONL line of the batch input file, newline included."""
    return _line(item.custom_id, endpoint(item.request, url_root), request_body(item.request))


def _line(custom_id: str, url: str, body: dict[str, JSON]) -> bytes:
    line = {"custom_id": custom_id, "method": "POST", "url": url, "body": body}
    return jsoncodec.dumps_bytes(line) + b"\n"


@dataclass(frozen=True, slots=True)
class InputLine:
    """One encoded input line, with what the batch needs to know of its request."""

    data: bytes
    url: str
    wants_schema: bool


_NOT_PLAIN_CHAT = (
    ',"kind":',
    ',"system":',
    ',"input":',
    ',"output_schema":',
    ',"native":',
    ',"params":',
)
"""Stored keys whose request's body differs from its stored values by more than a rename."""


def encode_item(item: WireItem, url_root: str = "/v1") -> InputLine:
    """`input_line` with its url (under `url_root`, see `endpoint`) and schema flag. A plain
    chat given as stored JSON has its line cut from that text, without decoding it or encoding
    anything but the custom_id."""
    if item.stored is not None:
        body = _plain_chat_body(item.stored)
        if body is not None:
            chat = CHAT_URL if url_root == "/v1" else url_root + CHAT_URL.removeprefix("/v1")
            head = f'{{"custom_id":{jsoncodec.dumps(item.custom_id)},"method":"POST","url":"'
            return InputLine(f'{head}{chat}","body":{body}}}\n'.encode(), chat, False)
    request = item.request
    url = endpoint(request, url_root)
    body_json = request_body(request)
    return InputLine(_line(item.custom_id, url, body_json), url, wants_json(request))


def _plain_chat_body(stored: str) -> str | None:
    """The body of a chat without system prompt or schema, cut from its stored JSON: that text
    (`Request.to_json`, compact) is `{"id":…,"line":…,"model":…,"messages":[…]` and then
    `"max_tokens"` and `"temperature"` when set, and the body is the same from `"model"` on
    (a reasoning model's `max_tokens` named `max_completion_tokens`). None for any other
    request.

    Searching the raw text for `,"key":` finds a key wherever it is one: inside a JSON string
    every quote is escaped, so the text `,"key":` only occurs as a key. It may also be found
    as a key inside messages (a tool call's fields, say), which only sends that request down
    the slower, exact way.
    """
    model_at = stored.find(',"model":')
    if model_at < 0 or ',"messages":' not in stored:
        return None
    if any(key in stored for key in _NOT_PLAIN_CHAT):
        return None
    body = "{" + stored[model_at + 1 :]
    if stored.startswith(_REASONING_STARTS, model_at + 9):
        return body.replace(',"max_tokens":', ',"max_completion_tokens":', 1)
    return body


_REASONING_STARTS = tuple(f'"{prefix}' for prefix in REASONING_MODELS)


def asks_for_schema(line: bytes | str) -> str | None:
    """The custom_id of an input line whose body asks for a JSON schema, else None."""
    entry = json.loads(line)
    body = entry.get("body") if isinstance(entry, dict) else None
    fmt = body.get("response_format") if isinstance(body, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object"):
        return str(entry.get("custom_id"))
    return None


# -- results -----------------------------------------------------------------------------


def parse_result_line(
    line: bytes | str, batch_id: str, wants_json: Callable[[str], bool]
) -> Result | None:
    """One output- or error-file line as a `Result` (None for a line without a custom_id)."""
    entry: dict[str, JSON] = jsoncodec.loads(line)
    custom_id = entry.get("custom_id")
    if not isinstance(custom_id, str):
        return None
    response = entry.get("response")
    error = entry.get("error")
    if not isinstance(response, dict):
        return _unexecuted(custom_id, batch_id, error, entry)
    status_code = int(response.get("status_code") or 0)
    body = response.get("body")
    body = body if isinstance(body, dict) else {}
    if status_code >= 400 or error is not None:
        return Result(
            custom_id=custom_id,
            outcome=Outcome.FAILED,
            batch_id=batch_id,
            model=body.get("model"),
            error=http_error(status_code, body, entry),
        )
    return response_result(custom_id, batch_id, body, wants_json(custom_id), entry)


def response_result(
    custom_id: str, batch_id: str, body: dict[str, JSON], wants_json: bool, raw: JSON = None
) -> Result:
    """A 200 body of the chat or embeddings endpoint (in a batch line or a direct call)."""
    if body.get("object") == "list":
        return _embedding(custom_id, batch_id, body)
    if body.get("object") == "response":
        return _response(custom_id, batch_id, body, wants_json)
    return _chat(custom_id, batch_id, body, wants_json, raw)


def _unexecuted(custom_id: str, batch_id: str, error: JSON, raw: JSON) -> Result:
    """A request that never ran (expired, cancelled) or failed without an HTTP response."""
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or "error")
    return Result(
        custom_id=custom_id,
        outcome=UNFINISHED.get(code, Outcome.FAILED),
        batch_id=batch_id,
        error=ProviderError(
            code=code,
            message=str(error.get("message") or "the request was not executed"),
            raw=raw,
            retryable=code in RETRYABLE_CODES,
        ),
    )


def http_error(status_code: int, body: dict[str, JSON], raw: JSON) -> ProviderError:
    """A line whose request got an error response; retryable for rate limits and 5xx."""
    inner = body.get("error")
    inner = inner if isinstance(inner, dict) else {}
    code = str(inner.get("code") or inner.get("type") or f"http_{status_code}")
    retryable = status_code == 429 or status_code >= 500 or code in RETRYABLE_CODES
    message = str(inner.get("message") or f"HTTP {status_code}")
    return ProviderError(code=code, message=message, raw=raw, retryable=retryable)


def _chat(
    custom_id: str, batch_id: str, body: dict[str, JSON], parse_json: bool, raw: JSON
) -> Result:
    """A chat completion; a refusal fails the request (it would be refused again), keeping
    the refusal's words in `refusal` as well."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    refusal = message.get("refusal")
    if refusal:
        return Result(
            custom_id=custom_id,
            outcome=Outcome.FAILED,
            batch_id=batch_id,
            stop_reason=choice.get("finish_reason"),
            model=body.get("model"),
            usage=usage_of(body.get("usage")),
            error=ProviderError(code="refusal", message=str(refusal), raw=raw),
            refusal=str(refusal),
        )
    text = message.get("content")
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        text=text,
        parsed=parse_json_answer(text) if parse_json else None,
        stop_reason=choice.get("finish_reason"),
        model=body.get("model"),
        usage=usage_of(body.get("usage")),
        tool_calls=message.get("tool_calls") or None,
        logprobs=choice.get("logprobs"),
    )


def _response(custom_id: str, batch_id: str, body: dict[str, JSON], parse_json: bool) -> Result:
    """A Responses API answer: its message texts joined, its function calls as tool calls."""
    texts: list[str] = []
    calls: list[JSON] = []
    refusal = None
    for item in body.get("output") or []:
        if item.get("type") == "function_call":
            calls.append(
                {
                    "id": item.get("call_id"),
                    "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")},
                }
            )
        for part in item.get("content") or [] if item.get("type") == "message" else []:
            if part.get("type") == "output_text":
                texts.append(str(part.get("text", "")))
            elif part.get("type") == "refusal":
                refusal = str(part.get("refusal", ""))
    text = "".join(texts) if texts else None
    incomplete = body.get("incomplete_details") or {}
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        text=text,
        parsed=parse_json_answer(text) if parse_json else None,
        stop_reason=incomplete.get("reason") or body.get("status"),
        model=body.get("model"),
        usage=responses_usage(body.get("usage")),
        tool_calls=calls or None,
        refusal=refusal,
    )


def _embedding(custom_id: str, batch_id: str, body: dict[str, JSON]) -> Result:
    data = body.get("data") or [{}]
    vector = data[0].get("embedding")
    if isinstance(vector, str):
        vector = _from_base64(vector)
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        embedding=vector,
        model=body.get("model"),
        usage=usage_of(body.get("usage")),
    )


def _from_base64(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))
