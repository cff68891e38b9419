"""Streaming JSONL: one parsed object per non-blank line, with its line number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from batchgraph import jsoncodec
from batchgraph.errors import InputProblem
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
            if not isinstance(data, dict):
                yield number, InputProblem(number, "the line is not a JSON object", ONE_OBJECT_FIX)
                continue
            yield number, data


def sniff_jsonl_format(path: Path) -> InputFormat:
    """OpenAI batch layout if the first object has its keys, plain JSONL otherwise."""
    for _, data in jsonl_objects(path):
        if isinstance(data, dict):
            return InputFormat.OPENAI_BATCH if looks_like_openai_batch(data) else InputFormat.JSONL
    return InputFormat.JSONL


def jsonl_entries(path: Path, fmt: InputFormat, options: ReadOptions) -> Iterator[Entry]:
    convert = openai_batch_entry if fmt is InputFormat.OPENAI_BATCH else plain_entry
    for number, data in jsonl_objects(path):
        if isinstance(data, InputProblem):
            yield Entry(number, None, None, (data,))
        else:
            yield convert(data, number, options)
