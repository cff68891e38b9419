"""Synthetic answers, derived from the request's content so the same prompt gets the same answer.

Provider-neutral: provider modules extract the prompt text (see `text_of`) and wrap an `Answer`
or embedding in their own envelopes. Token counts are realistic: about four characters per
input token, one token per output word.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from dataclasses import dataclass
from typing import Any

from batchgraph.sandbox.schema_fill import fill

EMBEDDING_DIMENSIONS = 256
CACHE_MIN_TOKENS = 1024
"""Prompts at least this long report half their tokens (in 128-token blocks) as cached."""

_VOCABULARY = (
    "the",
    "answer",
    "is",
    "that",
    "batch",
    "work",
    "runs",
    "later",
    "at",
    "half",
    "the",
    "price",
    "while",
    "every",
    "request",
    "keeps",
    "its",
    "own",
    "id",
    "so",
    "results",
    "can",
    "be",
    "matched",
    "and",
    "nothing",
    "gets",
    "lost",
    "along",
    "the",
    "way",
)


@dataclass(frozen=True, slots=True)
class Answer:
    """A chat answer: `text` (JSON text when a schema was given, then also `parsed`)."""

    text: str
    parsed: Any
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    truncated: bool
    """True when `max_tokens` cut the answer short (finish reason "length")."""


def count_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def text_of(content: Any) -> str:
    """The text inside a message content: a string, a list of parts, or anything JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(text_of(p.get("text", "") if isinstance(p, dict) else p) for p in content)
    if content is None:
        return ""
    return json.dumps(content, sort_keys=True)


def _rng(seed: str, prompt: str) -> random.Random:
    digest = hashlib.blake2b(f"{seed}\x1f{prompt}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def answer(
    prompt: str,
    *,
    max_tokens: int | None = None,
    schema: dict[str, Any] | None = None,
    seed: str = "",
    input_tokens: int | None = None,
) -> Answer:
    """The answer to `prompt` (all message text, system included); JSON when `schema` is set.

    `input_tokens` is the request's input as its provider counts it (`sandbox.tokens`);
    by default, the prompt's at four characters a token."""
    input_tokens = count_tokens(prompt) if input_tokens is None else input_tokens
    cached = (input_tokens // 2) // 128 * 128 if input_tokens >= CACHE_MIN_TOKENS else 0
    if schema is not None:
        parsed = fill(schema, _rng(seed, prompt))
        text = json.dumps(parsed, separators=(",", ":"))
        return Answer(text, parsed, input_tokens, count_tokens(text), cached, False)
    # Bytes of a hash pick the words: the same prompt always gets the same answer, fast.
    picks = hashlib.shake_256(f"{seed}\x1f{prompt}".encode()).digest(41)
    words = [_VOCABULARY[b % len(_VOCABULARY)] for b in picks[1 : 6 + picks[0] % 36]]
    truncated = max_tokens is not None and max_tokens < len(words)
    if truncated:
        words = words[: max(0, max_tokens or 0)]
    text = " ".join(words).capitalize() + ("" if truncated else ".")
    return Answer(text, None, input_tokens, len(words), cached, truncated)


def embedding(text: str, *, dimensions: int = EMBEDDING_DIMENSIONS, seed: str = "") -> list[float]:
    """A unit vector determined by `text` (the same text always maps to the same vector)."""
    raw = hashlib.shake_256(f"{seed}\x1f{text}".encode()).digest(2 * dimensions)
    values = [(v - 32767.5) / 32767.5 for v in struct.unpack(f">{dimensions}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A synthetic tool call: which tool, its arguments (valid under its schema), and an id
    derived from the request, so the same request always calls the same tool the same way."""

    name: str
    arguments: dict[str, Any]
    key: str
    """Hex digits to build the provider's call id from."""


def call_tool(
    tools: list[tuple[str, dict[str, Any]]], forced: str | None, prompt: str, seed: str = ""
) -> ToolCall | None:
    """The call a request offering `tools` (name, parameter schema) gets: the `forced` tool,
    else one picked by the prompt's hash; None when no tool can be called."""
    if not tools:
        return None
    rng = _rng(seed, "tool\x1f" + prompt)
    chosen = next((tool for tool in tools if tool[0] == forced), None)
    if chosen is None:
        if forced is not None:
            return None
        chosen = tools[rng.randrange(len(tools))]
    name, schema = chosen
    arguments = fill(schema or {"type": "object", "properties": {}}, rng)
    key = hashlib.blake2b(f"{seed}\x1f{name}\x1f{prompt}".encode(), digest_size=12).hexdigest()
    return ToolCall(name, arguments if isinstance(arguments, dict) else {}, key)


def chat_tool_call(
    body: dict[str, Any], messages: list[Any], prompt: str, seed: str = ""
) -> ToolCall | None:
    """The call a chat-completions request (OpenAI's or Mistral's shape) gets: one of its
    `tools` (the one `tool_choice` names, if it names one), unless `tool_choice` is "none" or
    the last message is a tool result, which are answered in text."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if not isinstance(tools, list) or choice == "none" or last.get("role") == "tool":
        return None
    offered = [
        (str(fn.get("name")), fn.get("parameters") or {})
        for tool in tools
        if isinstance(tool, dict) and isinstance(fn := tool.get("function"), dict)
    ]
    forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    return call_tool(offered, forced, prompt, seed)
