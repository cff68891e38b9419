"""Streaming JSONL: one parsed object per non-blank line, with its line number."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from batchgraph import jsoncodec
from batchgraph.errors import InputProblem
from batchgraph.io.native_batch import (
    anthropic_batch_entry,
    looks_like_anthropic_batch,
    looks_like_mistral_batch,
    mistral_batch_entry,
)
from batchgraph.io.openai_batch import looks_like_openai_batch, openai_batch_entry
from batchgraph.io.options import InputFormat, ReadOptions
from batchgraph.io.plain import plain_entry
from batchgraph.io.problems import Entry
from batchgraph.model import JSON

ONE_OBJECT_FIX = "write one JSON object {...} per line"


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, JSON] | InputProblem]]:
    """Each non-blank line as (line number, object), or (line number, what is wrong with it)."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                data = jsoncodec.loads(raw)  # exactly json.loads(raw), faster
            except UnicodeDecodeError:
                yield number, InputProblem(number, "not UTF-8 text", "save the file as UTF-8")
                continue
            except json.JSONDecodeError as err:
                problem = f"malformed JSON ({err.msg} at column {err.colno})"
                yield number, InputProblem(number, problem, ONE_OBJECT_FIX)
                continue
            except RecursionError:
                problem = "JSON nested too deeply to read"
                yield number, InputProblem(number, problem, "nest arrays and objects less deeply")
                continue
            if not isinstance(data, dict):
                yield number, InputProblem(number, "the line is not a JSON object", ONE_OBJECT_FIX)
                continue
            if _SURROGATE_ESCAPE.search(raw) and not _is_text(data):
                yield number, InputProblem(number, LONE_SURROGATE, SURROGATE_FIX)
                continue
            yield number, data


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
"""A UTF-16 surrogate, escaped (fine in a pair: one character) or encoded (which `json.loads`
lets through): neither is text alone, and no prompt, file or provider can carry it."""
LONE_SURROGATE = "a lone surrogate (such as \\ud800) is not a character"
SURROGATE_FIX = "escape a character beyond U+FFFF as a pair (\\ud83d\\ude00) or write it as UTF-8"


def _is_text(data: JSON) -> bool:
    """Whether every string in `data` can be written as UTF-8 (no lone surrogates)."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_LAYOUTS = (
    (looks_like_openai_batch, InputFormat.OPENAI_BATCH),
    (looks_like_anthropic_batch, InputFormat.ANTHROPIC_BATCH),
    (looks_like_mistral_batch, InputFormat.MISTRAL_BATCH),
)
_CONVERTERS = {
    InputFormat.OPENAI_BATCH: openai_batch_entry,
    InputFormat.ANTHROPIC_BATCH: anthropic_batch_entry,
    InputFormat.MISTRAL_BATCH: mistral_batch_entry,
}


def sniff_jsonl_format(path: Path) -> InputFormat:
    """A provider's batch layout if the first object has its keys, plain JSONL otherwise."""
    for _, data in jsonl_objects(path):
        if isinstance(data, dict):
            for looks_like, fmt in _LAYOUTS:
                if looks_like(data):
                    return fmt
            return InputFormat.JSONL
    return InputFormat.JSONL


def jsonl_entries(path: Path, fmt: InputFormat, options: ReadOptions) -> Iterator[Entry]:
    convert = _CONVERTERS.get(fmt, plain_entry)
    for number, data in jsonl_objects(path):
        if isinstance(data, InputProblem):
            yield Entry(number, None, None, (data,))
        else:
            yield convert(data, number, options)
