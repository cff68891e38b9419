"""The results stream of an ended Anthropic batch: one line per request, in no input order.

`write_results` reads the stored requests once and writes every line in one pass, so a
100,000-request batch takes seconds and constant memory. Each request ends in exactly one of
Anthropic's four result types: `succeeded`, `errored`, `canceled` or `expired`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any

from batchgraph.sandbox.anthropic_cache import CacheUse, PromptCache
from batchgraph.sandbox.anthropic_checks import params_problem
from batchgraph.sandbox.fate import Fates, fate_id
from batchgraph.sandbox.responder import Answer, ToolCall, answer, call_tool, text_of
from batchgraph.sandbox.results import ShuffledLines
from batchgraph.sandbox.tokens import anthropic_tokens

INJECTED_ERROR = {"type": "api_error", "message": "Internal server error"}
"""What a request that meets an injected failure reports (retryable, as at Anthropic)."""


COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")
"""The keys of `request_counts`."""


def write_results(
    requests_path: Path,
    out: IO[bytes],
    *,
    batch_id: str,
    fates: Fates,
    done_share: float,
    unfinished: str,
) -> dict[str, int]:
    """Write the result line of every request and return the `request_counts`; those not
    finished at `done_share` end as `unfinished` (`canceled` or `expired`)."""
    counts = dict.fromkeys(COUNTS, 0)
    prefix = hashlib.blake2b(batch_id.encode(), digest_size=6).hexdigest()
    seed = fates.config.seed
    cache = PromptCache()
    with ShuffledLines(out, batch_id + "results") as lines, requests_path.open("rb") as source:
        for number, raw in enumerate(source):
            item = json.loads(raw)
            custom_id: str = item["custom_id"]
            own_id = fate_id(custom_id)
            if not fates.finished(own_id, done_share):
                result: dict[str, Any] = {"type": unfinished}
            elif fates.fails(own_id):
                result = _errored(INJECTED_ERROR, f"req_{prefix}{number:08x}")
            else:
                result = answer_params(item["params"], f"{prefix}{number:08x}", seed, cache)
            counts[result["type"]] += 1
            line = {"custom_id": custom_id, "result": result}
            lines.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode())
    return counts


def _errored(error: dict[str, str], request_id: str | None) -> dict[str, Any]:
    body = {"type": "error", "error": error, "request_id": request_id}
    return {"type": "errored", "error": body}


def answer_params(
    params: dict[str, Any], suffix: str, seed: str, cache: PromptCache | None = None
) -> dict[str, Any]:
    """The result of one request's params: `succeeded` with its message, or `errored`.

    `cache` holds the prefixes seen so far in the batch (see `anthropic_cache`)."""
    problem = params_problem(params)
    if problem is not None:
        return _errored({"type": "invalid_request_error", "message": problem}, None)
    tool = _forced_tool(params)
    reply = answer(
        _prompt(params),
        max_tokens=params["max_tokens"],
        schema=tool.get("input_schema") if tool else None,
        seed=seed,
        input_tokens=anthropic_tokens(params),
    )
    call = None if tool else _tool_call(params, seed)
    if tool:
        content: list[dict[str, Any]] = [
            {
                "type": "tool_use",
                "id": f"toolu_{suffix}",
                "name": tool["name"],
                "input": reply.parsed,
            }
        ]
        stop_reason = "tool_use"
    elif call is not None:
        content = [
            {
                "type": "tool_use",
                "id": f"toolu_{call.key[:24]}",
                "name": call.name,
                "input": call.arguments,
            }
        ]
        stop_reason = "tool_use"
    else:
        content = [{"type": "text", "text": reply.text}]
        stop_reason = "max_tokens" if reply.truncated else "end_turn"
    message = {
        "id": f"msg_{suffix}",
        "type": "message",
        "role": "assistant",
        "model": params["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(reply, (cache or PromptCache()).use(params)),
    }
    return {"type": "succeeded", "message": message}


def _tool_call(params: dict[str, Any], seed: str) -> ToolCall | None:
    """A request offering tools whose last turn is not a tool result calls one of them (any,
    as `auto` and `any` allow); `none`, or a turn answering a tool call, gets text."""
    tools = params.get("tools")
    choice = params.get("tool_choice") or {}
    if not isinstance(tools, list) or (isinstance(choice, dict) and choice.get("type") == "none"):
        return None
    last = params["messages"][-1] if params["messages"] else {}
    content = last.get("content") if isinstance(last, dict) else None
    if last.get("role") != "user" or (
        isinstance(content, list)
        and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    ):
        return None
    offered = [
        (str(tool.get("name")), tool.get("input_schema") or {})
        for tool in tools
        if isinstance(tool, dict) and "input_schema" in tool
    ]
    return call_tool(offered, None, _prompt(params), seed)


def _forced_tool(params: dict[str, Any]) -> dict[str, Any] | None:
    """The tool a `tool_choice` of type `tool` forces, if any (its input is the answer)."""
    choice = params.get("tool_choice")
    if not isinstance(choice, dict) or choice.get("type") != "tool":
        return None
    for tool in params.get("tools") or []:
        if isinstance(tool, dict) and tool.get("name") == choice.get("name"):
            return tool
    return None


def _prompt(params: dict[str, Any]) -> str:
    parts = [text_of(params.get("system"))] if params.get("system") else []
    parts += [text_of(m.get("content")) for m in params["messages"]]
    return "\n".join(parts)


def _usage(reply: Answer, cached: CacheUse) -> dict[str, Any]:
    """Anthropic reports cache writes and reads apart from `input_tokens`."""
    return {
        "input_tokens": max(0, reply.input_tokens - cached.written - cached.read),
        "cache_creation_input_tokens": cached.written,
        "cache_read_input_tokens": cached.read,
        "output_tokens": reply.output_tokens,
        "service_tier": "batch",
    }
