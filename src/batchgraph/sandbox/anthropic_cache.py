"""Anthropic's prompt caching, as the sandbox plays it: explicit breakpoints, per-model floors.

Anthropic caches only what a request marks: the prefix up to the last `cache_control` block of
its tools and system prompt. A prefix shorter than the model's floor is not cached, silently.
Within one batch the first request with a prefix writes it (`cache_creation_input_tokens`) and
every later one reads it (`cache_read_input_tokens`); reads cost a tenth of the input price.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from batchgraph.sandbox.responder import text_of
from batchgraph.sandbox.tokens import approximate

_FLOORS = (
    ("claude-haiku-4-5", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)
DEFAULT_FLOOR = 1024


def floor_for(model: str) -> int:
    """The fewest tokens a cached prefix of `model` may have."""
    return next((n for prefix, n in _FLOORS if model.startswith(prefix)), DEFAULT_FLOOR)


@dataclass(frozen=True, slots=True)
class CacheUse:
    """How a request's input tokens split: written to the cache, read from it, or neither."""

    written: int = 0
    read: int = 0


class PromptCache:
    """The prefixes one batch (or one synchronous call) has seen."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def use(self, params: dict[str, Any]) -> CacheUse:
        marked = _marked_prefix(params)
        if marked is None:
            return CacheUse()
        text, tokens = marked
        if tokens < floor_for(str(params.get("model", ""))):
            return CacheUse()
        key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        if key in self._seen:
            return CacheUse(read=tokens)
        self._seen.add(key)
        return CacheUse(written=tokens)


def _marked_prefix(params: dict[str, Any]) -> tuple[str, int] | None:
    """The text up to the last block marked `cache_control`, and its tokens as the sandbox
    counts them (`sandbox.tokens`: the tool definitions' JSON and the system prompt's text)."""
    tools = params.get("tools") or []
    system = params.get("system")
    blocks = system if isinstance(system, list) else []
    marks = [i for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("cache_control")]
    tool_marked = any(isinstance(t, dict) and t.get("cache_control") for t in tools)
    if not marks and not tool_marked:
        return None
    kept = blocks[: marks[-1] + 1] if marks else []
    text = text_of(kept) if kept else ""
    key = json.dumps([tools, kept], sort_keys=True)
    tool_json = json.dumps(tools, separators=(",", ":")) if tools else ""
    return key, approximate(tool_json) + approximate(text)
