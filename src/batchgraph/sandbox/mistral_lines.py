"""One Mistral batch request in, one result line out.

A request whose body Mistral's endpoint would refuse (a temperature of 3, a conversation ending on
the assistant) is accepted into the job and comes back as that request's line in the error file,
as a real batch reports per-request failures. Lines use the documented envelope
`{id, custom_id, response: {status_code, body}, error}`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from batchgraph.sandbox import responder
from batchgraph.sandbox.models import dimensions_of
from batchgraph.sandbox.tokens import mistral_chat_tokens

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
SERVED_ENDPOINTS = (CHAT, EMBEDDINGS)
ROLES = ("system", "user", "assistant", "tool")
LAST_ROLES = ("user", "tool")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the endpoint refuses a request: HTTP status and Mistral's error body."""

    status: int
    body: dict[str, Any]

    def to_json(self) -> list[Any]:
        return [self.status, self.body]

    @classmethod
    def from_json(cls, data: list[Any] | None) -> Problem | None:
        return cls(data[0], data[1]) if data else None


def _invalid(loc: list[str | int], msg: str, kind: str, value: Any) -> Problem:
    detail = {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}
    return Problem(422, _error({"detail": [detail]}, "invalid_request_error"))


def _error(message: Any, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"object": "error", "message": message, "type": kind, "param": None, "code": code}


# -- what the endpoints refuse -------------------------------------------------------------


def body_problem(endpoint: str, body: dict[str, Any]) -> Problem | None:
    """The error Mistral's endpoint would answer this body with, or None."""
    if endpoint == EMBEDDINGS:
        return _embedding_problem(body)
    return _chat_problem(body)


def _embedding_problem(body: dict[str, Any]) -> Problem | None:
    if "input" not in body:
        return _invalid(["input"], "Field required", "missing", body)
    value = body["input"]
    if isinstance(value, str) or (
        isinstance(value, list) and value and all(isinstance(v, str) for v in value)
    ):
        return None
    return _invalid(["input"], "Input should be a valid string or list of strings", "type", value)


def _chat_problem(body: dict[str, Any]) -> Problem | None:
    messages = body.get("messages")
    if messages is None:
        return _invalid(["messages"], "Field required", "missing", body)
    if not isinstance(messages, list) or not messages:
        msg = "List should have at least 1 item after validation, not 0"
        return _invalid(["messages"], msg, "too_short", messages)
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            msg = "Input tag does not match any of the expected tags: " + ", ".join(ROLES)
            return _invalid(["messages", i], msg, "union_tag_invalid", message)
    problem = _number_problem(body, "temperature", 0, 1.5) or _max_tokens_problem(body)
    if problem is not None:
        return problem
    last = messages[-1]
    if last["role"] not in LAST_ROLES and not (last["role"] == "assistant" and last.get("prefix")):
        message = (
            "Expected last role User or Tool (or Assistant with prefix True) for serving "
            f"but got {last['role']}"
        )
        return Problem(400, _error(message, "invalid_request_message_order", "3230"))
    return _response_format_problem(body.get("response_format"))


def _number_problem(body: dict[str, Any], name: str, low: float, high: float) -> Problem | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _invalid([name], "Input should be a valid number", "float_type", value)
    if value < low:
        return _invalid([name], f"Input should be greater than or equal to {low}", "ge", value)
    if value > high:
        return _invalid([name], f"Input should be less than or equal to {high}", "le", value)
    return None


def _max_tokens_problem(body: dict[str, Any]) -> Problem | None:
    value = body.get("max_tokens")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        return _invalid(["max_tokens"], "Input should be a valid integer", "int_type", value)
    if value < 0:
        return _invalid(["max_tokens"], "Input should be greater than or equal to 0", "ge", value)
    return None


def _response_format_problem(response_format: Any) -> Problem | None:
    if response_format is None:
        return None
    loc: list[str | int] = ["response_format"]
    if not isinstance(response_format, dict):
        return _invalid(loc, "Input should be a valid dictionary", "dict_type", response_format)
    kind = response_format.get("type", "text")
    if kind not in ("text", "json_object", "json_schema"):
        msg = "Input should be 'text', 'json_object' or 'json_schema'"
        return _invalid([*loc, "type"], msg, "enum", kind)
    if kind != "json_schema":
        return None
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        return _invalid([*loc, "json_schema"], "Field required", "missing", response_format)
    for field in ("name", "schema"):
        if field not in spec:
            return _invalid([*loc, "json_schema", field], "Field required", "missing", spec)
    return None


# -- result lines --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineContext:
    """What every line of one job shares."""

    job_id: str
    endpoint: str
    model: str | None
    created: int
    seed: str

    @property
    def prefix(self) -> str:
        return f"batch-{self.job_id.replace('-', '')[:8]}"


def _digest(ctx: LineContext, number: int) -> str:
    """32 hex characters determined by the job and line (cheaper than `uuid.uuid5`)."""
    return hashlib.blake2b(f"{ctx.job_id}/{number}".encode(), digest_size=16).hexdigest()


def line_id(ctx: LineContext, number: int) -> str:
    """`batch-<8 hex>-<1-based line number>-<uuid>`, the shape of the documented examples."""
    h = _digest(ctx, number)
    return f"{ctx.prefix}-{number}-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def envelope_line(
    ctx: LineContext, number: int, custom_id: str | None, status: int, body: dict[str, Any]
) -> bytes:
    line = {
        "id": line_id(ctx, number),
        "custom_id": custom_id,
        "response": {"status_code": status, "body": body},
        "error": None,
    }
    return json.dumps(line, separators=(",", ":")).encode()


def success_body(ctx: LineContext, number: int, body: dict[str, Any]) -> dict[str, Any]:
    """The endpoint's 200 body for the request on line `number`."""
    model = body.get("model") or ctx.model
    response_id = _digest(ctx, -number)
    if ctx.endpoint == EMBEDDINGS:
        return _embedding_body(ctx, response_id, model, body["input"])
    prompt = "\n".join(responder.text_of(m.get("content")) for m in body["messages"])
    answer = responder.answer(
        prompt,
        max_tokens=body.get("max_tokens"),
        schema=_schema_of(body),
        seed=ctx.seed,
        input_tokens=mistral_chat_tokens(body),
    )
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "tool_calls": None}
    finish = "length" if answer.truncated else "stop"
    call = responder.chat_tool_call(body, body["messages"], prompt, ctx.seed)
    if call is not None:
        message["content"] = ""
        message["tool_calls"] = [
            {
                "id": call.key[:9],
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                "index": 0,
            }
        ]
        finish = "tool_calls"
    return {
        "id": response_id,
        "object": "chat.completion",
        "model": model,
        "usage": {
            "prompt_tokens": answer.input_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
        },
        "created": ctx.created,
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
    }


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema: dict[str, Any] = response_format["json_schema"]["schema"]
        return schema
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    return None


def _embedding_body(
    ctx: LineContext, response_id: str, model: str | None, value: str | list[str]
) -> dict[str, Any]:
    texts = [value] if isinstance(value, str) else value
    tokens = sum(responder.count_tokens(t) for t in texts)
    return {
        "id": response_id,
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "embedding": responder.embedding(
                    text, dimensions=dimensions_of(model, 256), seed=ctx.seed
                ),
                "index": i,
            }
            for i, text in enumerate(texts)
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
    }


SERVER_ERROR = Problem(
    500,
    _error(
        "The server had an error while processing your request. Sorry about that!",
        "internal_server_error",
    ),
)
"""What an injected failure looks like in the error file (retryable, like a real 5xx)."""
