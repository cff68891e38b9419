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
    parse_json_answer,
    usage_of,
)

CHAT_URL = "/v1/chat/completions"
ENDPOINTS = {Kind.CHAT: CHAT_URL, Kind.EMBEDDING: "/v1/embeddings"}
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
`output_schema` (+53, and +6 when its name becomes "answer"); an embedding's body takes fewer
bytes than its stored request (`"input":null` +13 at worst). 173 in all; 256 keeps a margin.
`tests/test_planning.py` checks the bound against real lines.
"""


# -- requests ----------------------------------------------------------------------------


def check_request(request: Request) -> str | None:
    """What OpenAI would refuse in this request, with the fix (see `Provider.check_request`)."""
    return basic_problem(request, "OpenAI", TEMPERATURE_RANGE)


def endpoint(request: Request) -> str:
    return ENDPOINTS[request.kind]


def request_body(request: Request) -> dict[str, JSON]:
    """The body of one request for its endpoint, model included (OpenAI wants it per line)."""
    if request.kind is Kind.EMBEDDING:
        return {"model": request.model, "input": request.input}
    return _chat_body(
        request.model,
        chat_messages(request),
        request.max_tokens,
        request.temperature,
        request.output_schema,
    )


def _chat_body(
    model: str,
    messages: JSON,
    max_tokens: JSON,
    temperature: JSON,
    schema: OutputSchema | None = None,
) -> dict[str, JSON]:
    body: dict[str, JSON] = {"model": model, "messages": messages}
    if max_tokens is not None:
        body["max_completion_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    if schema is not None:
        name = SCHEMA_NAME.sub("_", schema.name)[:64] or "answer"
        body["response_format"] = json_schema_format(schema, name)
    return body


def input_line(item: WireItem) -> bytes:
    """One JSONL line of the batch input file, newline included."""
    return _line(item.custom_id, endpoint(item.request), request_body(item.request))


def _line(custom_id: str, url: str, body: dict[str, JSON]) -> bytes:
    line = {"custom_id": custom_id, "method": "POST", "url": url, "body": body}
    return jsoncodec.dumps_bytes(line) + b"\n"


@dataclass(frozen=True, slots=True)
class InputLine:
    """One encoded input line, with what the batch needs to know of its request."""

    data: bytes
    url: str
    wants_schema: bool


_NOT_PLAIN_CHAT = (',"kind":', ',"system":', ',"input":', ',"output_schema":')
"""Stored keys whose request's body differs from its stored values by more than a rename."""


def encode_item(item: WireItem) -> InputLine:
    """`input_line` with its url and schema flag. A plain chat given as stored JSON has its
    line cut from that text, without decoding it or encoding anything but the custom_id."""
    if item.stored is not None:
        body = _plain_chat_body(item.stored)
        if body is not None:
            head = f'{{"custom_id":{jsoncodec.dumps(item.custom_id)},"method":"POST","url":"'
            return InputLine(f'{head}{CHAT_URL}","body":{body}}}\n'.encode(), CHAT_URL, False)
    request = item.request
    url = endpoint(request)
    body_json = request_body(request)
    return InputLine(_line(item.custom_id, url, body_json), url, request.output_schema is not None)


def _plain_chat_body(stored: str) -> str | None:
    """The body of a chat without system prompt or schema, cut from its stored JSON: that text
    (`Request.to_json`, compact) is `{"id":…,"line":…,"model":…,"messages":[…]` and then
    `"max_tokens"` and `"temperature"` when set, and the body is the same from `"model"` on,
    with `max_tokens` named `max_completion_tokens`. None for any other request.

    Searching the raw text for `,"key":` finds keys only: inside a JSON string every quote is
    escaped, and a string's closing quote is followed by `,`, `:`, `}` or `]`, never by a
    key's letters. The only nested objects of such a request, its messages, hold just "role"
    and "content".
    """
    model_at = stored.find(',"model":')
    if model_at < 0 or ',"messages":' not in stored:
        return None
    if any(key in stored for key in _NOT_PLAIN_CHAT):
        return None
    body = "{" + stored[model_at + 1 :]
    return body.replace(',"max_tokens":', ',"max_completion_tokens":', 1)


def asks_for_schema(line: bytes | str) -> str | None:
    """The custom_id of an input line whose body asks for a JSON schema, else None."""
    entry = json.loads(line)
    body = entry.get("body") if isinstance(entry, dict) else None
    fmt = body.get("response_format") if isinstance(body, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
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
    if body.get("object") == "list":
        return _embedding(custom_id, batch_id, body)
    return _chat(custom_id, batch_id, body, wants_json(custom_id), entry)


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
    custom_id: str, batch_id: str, body: dict[str, JSON], wants_json: bool, raw: JSON
) -> Result:
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    refusal = message.get("refusal")
    if refusal:
        return Result(
            custom_id=custom_id,
            outcome=Outcome.FAILED,
            batch_id=batch_id,
            model=body.get("model"),
            usage=usage_of(body.get("usage")),
            error=ProviderError(code="refusal", message=str(refusal), raw=raw),
        )
    text = message.get("content")
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        text=text,
        parsed=parse_json_answer(text) if wants_json else None,
        stop_reason=choice.get("finish_reason"),
        model=body.get("model"),
        usage=usage_of(body.get("usage")),
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
