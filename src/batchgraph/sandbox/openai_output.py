"""The OpenAI endpoints' synthetic responses and the batch result files' line envelopes.

`write_results` reads the input once and writes the output and error files in one pass, in a
shuffled order, so a 100,000-line batch takes seconds and constant memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.models import dimensions_of
from batchgraph.sandbox.responder import (
    Answer,
    ToolCall,
    answer,
    call_tool,
    chat_tool_call,
    embedding,
    text_of,
)
from batchgraph.sandbox.results import ShuffledLines
from batchgraph.sandbox.tokens import openai_chat_tokens, openai_text_tokens

SERVER_ERROR_BODY = {
    "error": {
        "message": "The server had an error processing your request. Sorry about that! "
        "You can retry your request.",
        "type": "server_error",
        "param": None,
        "code": "server_error",
    }
}
UNFINISHED = {
    "expired": (
        "batch_expired",
        "This request could not be executed before the completion window expired.",
    ),
    "cancelled": (
        "batch_cancelled",
        "This request was not executed because the batch was cancelled.",
    ),
}


class BadRequest(Exception):
    """The request body would be refused by the endpoint (a 400 line in the error file)."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class Tally:
    """Counts and token usage gathered while writing the result files."""

    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


def write_results(
    input_path: Path,
    output: IO[bytes],
    errors: IO[bytes],
    *,
    batch_id: str,
    endpoint: str,
    fates: Fates,
    done_share: float,
    unfinished: str,
    created: int,
) -> Tally:
    """Answer every finished request of the input; `unfinished` names why the rest did not run
    (`expired` or `cancelled`)."""
    tally = Tally()
    respond = RESPONDERS[endpoint]
    prefix = hashlib.blake2b(batch_id.encode(), digest_size=4).hexdigest()
    seed = fates.config.seed
    with (
        ShuffledLines(output, batch_id + "out") as good,
        ShuffledLines(errors, batch_id + "err") as bad,
        input_path.open("rb") as lines,
    ):
        number = 0
        for raw in lines:
            if not raw.strip():
                continue
            number += 1
            line = json.loads(raw)
            custom_id: str = line["custom_id"]
            envelope: dict[str, Any] = {
                "id": f"batch_req_{prefix}{number:08x}",
                "custom_id": custom_id,
                "response": None,
                "error": None,
            }
            if not fates.finished(custom_id, done_share):
                code, message = UNFINISHED[unfinished]
                envelope["error"] = {"code": code, "message": message}
                bad.write(_dumps(envelope))
                continue
            request_id = f"req_{prefix}{number:08x}"
            if fates.fails(custom_id):
                envelope["response"] = _http(500, request_id, SERVER_ERROR_BODY)
                tally.failed += 1
                bad.write(_dumps(envelope))
                continue
            try:
                body = respond(line["body"], created, request_id, seed, tally)
            except BadRequest as err:
                envelope["response"] = _http(400, request_id, _error_body(err))
                tally.failed += 1
                bad.write(_dumps(envelope))
                continue
            envelope["response"] = _http(200, request_id, body)
            tally.completed += 1
            good.write(_dumps(envelope))
    return tally


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _http(status: int, request_id: str, body: Any) -> dict[str, Any]:
    return {"status_code": status, "request_id": request_id, "body": body}


def _error_body(err: BadRequest) -> dict[str, Any]:
    return {
        "error": {
            "message": str(err),
            "type": "invalid_request_error",
            "param": err.param,
            "code": None,
        }
    }


def _count(tally: Tally, result: Answer) -> None:
    tally.input_tokens += result.input_tokens
    tally.cached_tokens += result.cached_tokens
    tally.output_tokens += result.output_tokens


def _chat(body: dict[str, Any], created: int, request_id: str, seed: str, tally: Tally) -> Any:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest(
            "'messages' is a required property and must be a non-empty array.", "messages"
        )
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise BadRequest("Invalid 'max_tokens': must be a positive integer.", "max_tokens")
    prompt = "\n".join(
        f"{m.get('role', '')}: {text_of(m.get('content'))}" for m in messages if isinstance(m, dict)
    )
    result = answer(
        prompt,
        max_tokens=limit,
        schema=_chat_schema(body),
        seed=seed,
        input_tokens=openai_chat_tokens(body),
    )
    call = chat_tool_call(body, messages, prompt, seed)
    reasoning = _reasoning_tokens(body, result)
    _count(tally, result)
    tally.output_tokens += reasoning
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.text,
        "refusal": None,
        "annotations": [],
    }
    finish = "length" if result.truncated else "stop"
    if call is not None:
        message["content"] = None
        message["tool_calls"] = [_openai_call(call)]
        finish = "tool_calls"
    choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None}
    choice["finish_reason"] = finish
    if body.get("logprobs") and call is None:
        choice["logprobs"] = _logprobs(result.text, body.get("top_logprobs") or 0)
    n = body.get("n")
    count = n if isinstance(n, int) and n > 1 else 1
    return {
        "id": f"chatcmpl-{request_id[4:]}",
        "object": "chat.completion",
        "created": created,
        "model": body["model"],
        "choices": [{**choice, "index": index} for index in range(count)],
        "usage": {
            "prompt_tokens": result.input_tokens,
            "completion_tokens": result.output_tokens + reasoning,
            "total_tokens": result.input_tokens + result.output_tokens + reasoning,
            "prompt_tokens_details": {"cached_tokens": result.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    }


REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")
_EFFORT_TOKENS = {"minimal": 0, "low": 64, "medium": 256, "high": 1024}


def _reasoning_tokens(body: dict[str, Any], result: Answer) -> int:
    """What a reasoning model spends thinking: more for a higher `reasoning_effort`."""
    if not str(body.get("model", "")).startswith(REASONING_MODELS):
        return 0
    effort = body.get("reasoning_effort") or (body.get("reasoning") or {}).get("effort")
    return _EFFORT_TOKENS.get(str(effort), 256)


def _openai_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": f"call_{call.key[:24]}",
        "type": "function",
        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
    }


def _logprobs(text: str, top: int) -> dict[str, Any]:
    """Made-up but well-formed log probabilities, one entry per word of the answer."""
    content = []
    for position, word in enumerate(text.split(" ")):
        token = word if position == 0 else " " + word
        logprob = -round(0.05 * (len(word) % 7), 4)
        alternatives = [
            {"token": token, "logprob": logprob, "bytes": list(token.encode())},
            *(
                {"token": f" alt{rank}", "logprob": logprob - rank, "bytes": None}
                for rank in range(1, top)
            ),
        ][:top]
        entry = {"token": token, "logprob": logprob, "bytes": list(token.encode())}
        content.append({**entry, "top_logprobs": alternatives})
    return {"content": content, "refusal": None}


def _chat_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    if fmt.get("type") == "json_object":
        return {"type": "object", "properties": {"answer": {"type": "string"}}}
    return None


def _embeddings(
    body: dict[str, Any], created: int, request_id: str, seed: str, tally: Tally
) -> Any:
    value = body.get("input")
    inputs = value if isinstance(value, list) else [value]
    if value is None or not inputs or not all(isinstance(i, str) and i for i in inputs):
        raise BadRequest("'input' must be a non-empty string or array of strings.", "input")
    dimensions = body.get("dimensions") or dimensions_of(body.get("model"), 256)
    base64_wanted = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, text in enumerate(inputs):
        vector = embedding(text, dimensions=int(dimensions), seed=seed)
        tokens += openai_text_tokens(str(body["model"]), text)
        encoded: Any = _base64(vector) if base64_wanted else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tally.input_tokens += tokens
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _responses(body: dict[str, Any], created: int, request_id: str, seed: str, tally: Tally) -> Any:
    value = body.get("input")
    if value is None or value == "" or value == []:
        raise BadRequest("'input' is required.", "input")
    items = value if isinstance(value, list) else [{"role": "user", "content": value}]
    prompt = "\n".join(
        f"{i.get('role', '')}: {text_of(i.get('content'))}" if isinstance(i, dict) else str(i)
        for i in items
    )
    if body.get("instructions"):
        prompt = f"system: {body['instructions']}\n{prompt}"
    fmt = (body.get("text") or {}).get("format") or {}
    schema = fmt.get("schema") if fmt.get("type") == "json_schema" else None
    result = answer(prompt, max_tokens=body.get("max_output_tokens"), schema=schema, seed=seed)
    reasoning = _reasoning_tokens(body, result)
    _count(tally, result)
    tally.output_tokens += reasoning
    output: list[dict[str, Any]] = [
        {
            "type": "message",
            "id": f"msg_{request_id[4:]}",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": result.text, "annotations": []}],
        }
    ]
    call = _responses_call(body, items, prompt, seed)
    if call is not None:
        output = [
            {
                "type": "function_call",
                "id": f"fc_{call.key[:24]}",
                "call_id": f"call_{call.key[:24]}",
                "name": call.name,
                "arguments": json.dumps(call.arguments),
                "status": "completed",
            }
        ]
    return {
        "id": f"resp_{request_id[4:]}",
        "object": "response",
        "created_at": created,
        "status": "incomplete" if result.truncated else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if result.truncated else None,
        "error": None,
        "model": body["model"],
        "output": output,
        "usage": {
            "input_tokens": result.input_tokens,
            "input_tokens_details": {"cached_tokens": result.cached_tokens},
            "output_tokens": result.output_tokens + reasoning,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": result.input_tokens + result.output_tokens + reasoning,
        },
    }


def _responses_call(
    body: dict[str, Any], items: list[Any], prompt: str, seed: str
) -> ToolCall | None:
    """As `_tool_call`, for the Responses API's flat function tools and its input items."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    last = items[-1] if items and isinstance(items[-1], dict) else {}
    if (
        not isinstance(tools, list)
        or choice == "none"
        or last.get("type") == "function_call_output"
    ):
        return None
    offered = [
        (str(tool.get("name")), tool.get("parameters") or {})
        for tool in tools
        if isinstance(tool, dict) and tool.get("type") == "function"
    ]
    forced = choice.get("name") if isinstance(choice, dict) else None
    return call_tool(offered, forced, prompt, seed)


Responder = Callable[[dict[str, Any], int, str, str, Tally], Any]
RESPONDERS: dict[str, Responder] = {
    "/v1/chat/completions": _chat,
    "/v1/embeddings": _embeddings,
    "/v1/responses": _responses,
}
"""The endpoints the sandbox runs; other valid endpoints are refused at batch creation."""
