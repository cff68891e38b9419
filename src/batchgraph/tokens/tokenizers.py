"""Offline tokenizers, loaded only when an estimate asks for one.

OpenAI publishes its encodings, but `tiktoken` downloads them on first use, which fails on a
machine without internet; the `bpe-openai` package ships `o200k_base` and `cl100k_base` inside
its wheel (`pip install 'batchgraph[tokenizers]'`). Without it, or for a provider with no
published tokenizer, text is counted at four characters a token, and the estimate says so.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

CHARS_PER_TOKEN = 4
INSTALL_HINT = "pip install 'batchgraph[tokenizers]'"


@dataclass(frozen=True, slots=True)
class TextCounter:
    """Counts a text's tokens; `name` says how, for the estimate's table."""

    name: str
    count: Callable[[str], int]
    exact: bool


def approximate(text: str) -> int:
    """Four characters a token, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


APPROXIMATION = TextCounter(f"{CHARS_PER_TOKEN} characters a token", approximate, exact=False)


def text_counter(encoding: str | None) -> TextCounter:
    """The tokenizer named `encoding` when it can be loaded offline, else the approximation."""
    if encoding is None:
        return APPROXIMATION
    count = load_encoding(encoding)
    return APPROXIMATION if count is None else TextCounter(f"{encoding} tokenizer", count, True)


@functools.cache
def load_encoding(encoding: str) -> Callable[[str], int] | None:
    try:
        import bpe_openai
    except ImportError:
        return None
    try:
        encoder = bpe_openai.get_encoding(encoding)
    except (KeyError, ValueError):
        return None
    # Text that looks like a special token ("<|endoftext|>") is plain text in a prompt.
    return lambda text: len(encoder.encode(text, disallowed_special=()))
