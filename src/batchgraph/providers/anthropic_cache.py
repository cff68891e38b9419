"""Marking a request's shared prefix for Anthropic's prompt cache.

A batch job usually sends one long system prompt (and, for schema output, one tool) with every
request: the longest shared prefix there is. Anthropic caches only what a request marks with
`cache_control`, and only a prefix of at least the model's floor; cached reads cost a tenth of
the input price, and the discount stacks with the batch discount. So a system prompt long
enough to be cached is sent as a text block carrying the mark. A request from the user's own
Anthropic batch file is sent as written, marks and all.
"""

from __future__ import annotations

import json

from batchgraph.model import JSON

_FLOORS = (
    ("claude-haiku-4-5", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)
DEFAULT_FLOOR = 1024
CHARS_PER_TOKEN = 4
EPHEMERAL: dict[str, JSON] = {"type": "ephemeral"}


def cache_floor(model: str) -> int:
    """The fewest tokens Anthropic caches for `model` (its published minimums)."""
    return next((n for prefix, n in _FLOORS if model.startswith(prefix)), DEFAULT_FLOOR)


def mark_shared_prefix(params: dict[str, JSON]) -> None:
    """Put a cache breakpoint after the tools and system prompt when they are long enough."""
    system = params.get("system")
    tools = params.get("tools")
    chars = len(json.dumps(tools)) if isinstance(tools, list) else 0
    if isinstance(system, str):
        chars += len(system)
    if chars // CHARS_PER_TOKEN < cache_floor(str(params.get("model", ""))):
        return
    if isinstance(system, str) and system:
        params["system"] = [{"type": "text", "text": system, "cache_control": EPHEMERAL}]
    elif isinstance(tools, list) and tools and isinstance(tools[-1], dict) and system is None:
        params["tools"] = [*tools[:-1], {**tools[-1], "cache_control": EPHEMERAL}]
