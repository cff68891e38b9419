"""Gemini's batch wire format: input lines going in, responses-file lines coming out.

Pure translation with no I/O, so it can be read against the provider documentation at once.
An input line is `{"key": …, "request": <GenerateContentRequest>}` (or an `EmbedContentRequest`
for embedding batches); a result line is `{"key": …, "response": …}` or `{"key": …, "error":
{code, message, status}}`, all in one file.

A Gemini batch carries no metadata but its display name, and a result line echoes only its
key, so every key says what the adapter must know when reading it back: the batch tag and
whether the answer is JSON. A key is `<tag label>-<custom_id>`, or `<tag label>~json-<custom_id>`
for a request that asked for a JSON schema (a label never holds a dash or a tilde, so the first
dash ends the prefix).
"""

from __future__ import annotations

from dataclasses import dataclass

from batchgraph import jsoncodec
from batchgraph.errors import is_transient_status
from batchgraph.model import JSON, Kind, Outcome, ProviderError, Request, Result, Usage
from batchgraph.providers.base import BatchTag, WireItem
from batchgraph.providers.chat_format import parse_json_answer

TEMPERATURE_RANGE = (0.0, 2.0)
JSON_MARK = "~json"
"""Added to a key's tag label when the request asked for a JSON schema."""

KEY_PREFIX_ROOM = 96
"""Bytes a key's prefix (tag label, JSON mark, dash) may take: job ids are short."""

_SYSTEM_ROLES = frozenset({"system", "developer"})
_ROLES = {"user": "user", "assistant": "model"}
_RETRYABLE_STATUSES = frozenset(
    {"RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "UNKNOWN"}
)
_UNFINISHED = {"DEADLINE_EXCEEDED": Outcome.EXPIRED, "CANCELLED": Outcome.CANCELLED}
"""Line errors that mean the request never ran: the batch expired, or was cancelled."""
_BLOCKED_FINISH = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
"""Finish reasons that withhold the answer: the request failed and sending it again won't help."""


# -- requests ----------------------------------------------------------------------------


def check_request(request: Request) -> str | None:
    """What Gemini would refuse in this request, with the fix (see `Provider.check_request`)."""
    low, high = TEMPERATURE_RANGE
    if request.temperature is not None and not low <= request.temperature <= high:
        return (
            f"Gemini accepts temperature from {low} to {high}, not {request.temperature}; "
            "set a temperature in that range"
        )
    if request.max_tokens is not None and request.max_tokens < 1:
        return "Gemini needs max_tokens of at least 1; raise it or leave it out"
    if request.kind is Kind.EMBEDDING:
        return None if request.input else "a Gemini embedding request needs a non-empty `input`"
    roles = {message.get("role") for message in request.messages}
    unknown = roles - _ROLES.keys() - _SYSTEM_ROLES
    if unknown:
        names = ", ".join(sorted(str(role) for role in unknown))
        return f"Gemini does not know the message role {names}; use user, assistant or system"
    if not any(message.get("role") in _ROLES for message in request.messages):
        return "a Gemini chat request needs a user message; add one"
    return None


def wire_key(tag: BatchTag, custom_id: str, wants_json: bool) -> str:
    """The line's key: the tag's label (marked when the answer is JSON), a dash, our id."""
    return f"{tag.label()}{JSON_MARK if wants_json else ''}-{custom_id}"


@dataclass(frozen=True, slots=True)
class Key:
    """What a result line's key says: the batch tag's label, JSON or not, and our id."""

    label: str | None
    wants_json: bool
    custom_id: str


def split_key(key: str) -> Key:
    """Read a key written by `wire_key`; a key without a tag is all custom_id."""
    prefix, dash, rest = key.partition("-")
    label = prefix.removesuffix(JSON_MARK)
    if not dash or BatchTag.parse(label) is None:
        return Key(None, False, key)
    return Key(label, label != prefix, rest)


def request_body(request: Request) -> dict[str, JSON]:
    """A `GenerateContentRequest` (or for embeddings an `EmbedContentRequest`), REST casing."""
    if request.kind is Kind.EMBEDDING:
        return {"content": {"parts": [{"text": request.input}]}}
    system = [m["content"] for m in request.messages if m.get("role") in _SYSTEM_ROLES]
    if request.system:
        system.insert(0, request.system)
    body: dict[str, JSON] = {
        "contents": [
            {"role": _ROLES[m["role"]], "parts": [{"text": m["content"]}]}
            for m in request.messages
            if m.get("role") in _ROLES
        ]
    }
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config: dict[str, JSON] = {}
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.output_schema is not None:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = request.output_schema.schema
    if config:
        body["generationConfig"] = config
    return body


def input_line(custom_id: str, request: Request, tag: BatchTag) -> bytes:
    """One JSONL line of the batch input file, newline included."""
    key = wire_key(tag, custom_id, request.output_schema is not None)
    return jsoncodec.dumps_bytes({"key": key, "request": request_body(request)}) + b"\n"


def line_size(item: WireItem) -> int:
    """At least the bytes of `input_line` for any tag: planning happens before tags exist."""
    line = {"key": item.custom_id, "request": request_body(item.decoded())}
    return len(jsoncodec.dumps_bytes(line)) + 1 + KEY_PREFIX_ROOM


def size_bound(stored_bytes: int, custom_id_bytes: int) -> int:
    """At least `line_size` of a request whose stored JSON (`Request.to_json`) takes
    `stored_bytes`, without building it (see `Provider.wire_size_bound`).

    A message grows the most: `{"role":"user","content":""}` (28 bytes at least) becomes
    `{"role":"user","parts":[{"text":""}]}`, 9 bytes more, under a third of its size; assistant
    and system messages grow less. Everything else grows by a bounded amount (the key and
    request wrappers, `generationConfig`, `systemInstruction`, the JSON mime type: under 256
    bytes in all), while the stored id, line and model are dropped.
    """
    return stored_bytes * 4 // 3 + 1 + custom_id_bytes + KEY_PREFIX_ROOM + 256


# -- results -----------------------------------------------------------------------------


def parse_result_line(line: bytes | str, batch_id: str) -> Result | None:
    """One responses-file line as a `Result` carrying the tag label of its key (`Result.tag`);
    None for a line without a key."""
    entry: dict[str, JSON] = jsoncodec.loads(line)
    raw_key = entry.get("key")
    if not isinstance(raw_key, str):
        return None
    key = split_key(raw_key)
    error = entry.get("error")
    response = entry.get("response")
    response = response if isinstance(response, dict) else {}
    if isinstance(error, dict):
        result = _failed(key.custom_id, batch_id, error, entry)
    elif "embedding" in response:
        result = _embedding(key.custom_id, batch_id, response)
    else:
        result = _answer(key, batch_id, response, entry)
    result.tag = key.label
    return result


def _failed(custom_id: str, batch_id: str, error: dict[str, JSON], raw: JSON) -> Result:
    """A line the service answered with a `google.rpc.Status`; a request that never ran is
    EXPIRED or CANCELLED without an error of its own, as on the other providers."""
    status = str(error.get("status") or "")
    if status in _UNFINISHED:
        return Result(custom_id=custom_id, outcome=_UNFINISHED[status], batch_id=batch_id)
    code = status or f"http_{error.get('code') or 'error'}"
    http = error.get("code")
    retryable = status in _RETRYABLE_STATUSES or (
        isinstance(http, int) and is_transient_status(http)
    )
    return Result(
        custom_id=custom_id,
        outcome=Outcome.FAILED,
        batch_id=batch_id,
        error=ProviderError(
            code=code,
            message=str(error.get("message") or f"the request failed ({code})"),
            raw=raw,
            retryable=retryable,
        ),
    )


def _answer(key: Key, batch_id: str, response: dict[str, JSON], raw: JSON) -> Result:
    """A `GenerateContentResponse`: the first candidate's text (thoughts left out)."""
    candidates = response.get("candidates") or []
    candidate = candidates[0] if candidates and isinstance(candidates[0], dict) else {}
    finish = candidate.get("finishReason")
    model = response.get("modelVersion")
    usage = usage_of(response.get("usageMetadata"))
    blocked = (response.get("promptFeedback") or {}).get("blockReason")
    if blocked or finish in _BLOCKED_FINISH:
        reason = str(blocked or finish)
        where = "the prompt" if blocked else "the answer"
        return Result(
            custom_id=key.custom_id,
            outcome=Outcome.FAILED,
            batch_id=batch_id,
            model=model,
            usage=usage,
            error=ProviderError(
                code=reason.lower(), message=f"Gemini blocked {where} ({reason})", raw=raw
            ),
        )
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(
        str(part.get("text", ""))
        for part in parts
        if isinstance(part, dict) and not part.get("thought")
    )
    return Result(
        custom_id=key.custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        text=text,
        parsed=parse_json_answer(text) if key.wants_json else None,
        stop_reason=finish,
        model=model,
        usage=usage,
    )


def _embedding(custom_id: str, batch_id: str, response: dict[str, JSON]) -> Result:
    """A `SingleEmbedContentResponse`: `{"embedding": {"values": […]}, "tokenCount": …}`."""
    embedding = response.get("embedding") or {}
    return Result(
        custom_id=custom_id,
        outcome=Outcome.SUCCEEDED,
        batch_id=batch_id,
        embedding=embedding.get("values"),
        usage=Usage(input_tokens=int(response.get("tokenCount") or 0)),
    )


def usage_of(metadata: JSON) -> Usage:
    """`usageMetadata`: the prompt count includes cached tokens; thinking is billed as output."""
    if not isinstance(metadata, dict):
        return Usage()
    return Usage(
        input_tokens=int(metadata.get("promptTokenCount") or 0),
        output_tokens=int(metadata.get("candidatesTokenCount") or 0)
        + int(metadata.get("thoughtsTokenCount") or 0),
        cached_tokens=int(metadata.get("cachedContentTokenCount") or 0),
    )
