"""What a batch job is asked to do, as LangGraph input: typed, checked, and given a stable id.

The TypedDicts here are the published schemas (a LangGraph server shows them as Studio's input
form); they come from `typing_extensions` because pydantic builds JSON schemas only from those
on Python 3.11. LangGraph does not check input against them, so `resolve_spec` does, refusing
an unknown or misplaced key with the same kind of message the CLI gives.

A job's id is derived from where it is asked for (thread, graph namespace) and what it holds,
so a node that runs again after a crash finds the job it created instead of paying twice.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from batchgraph.errors import ConfigError, InputError
from batchgraph.io import ReadOptions
from batchgraph.jobs import DEFAULT_MAX_ATTEMPTS
from batchgraph.providers import registry

DEFAULT_INLINE_RESULTS = 100
"""Jobs with at most this many requests carry their results in the graph's state."""
DEFAULT_PAGE_SIZE = 100
"""Results per item of the LangGraph store."""


class ReadSpec(TypedDict, total=False):
    """Defaults every request inherits, and how to read a file (`batchgraph submit` options)."""

    model: str
    system: str
    temperature: float
    max_tokens: int
    template: str
    id_column: str
    format: str
    kind: str
    output_schema: dict[str, Any]


class JobOptions(TypedDict, total=False):
    """How to run a job: the provider, the model, and batchgraph's own settings."""

    provider: str
    model: str
    read: ReadSpec
    name: str
    max_attempts: int
    batch_size: int
    approve_cost: bool
    """Pause with the estimate (an interrupt) before anything is sent: resume True or False."""
    cache: bool
    """Answer requests an earlier job answered from the result cache (default true); false
    sends every request (fresh samples)."""
    inline_results: int
    """Results carried in the state when the job has at most this many requests."""
    page_size: int
    """Results per item in the LangGraph store."""


class NewJob(JobOptions, total=False):
    """A job to create: `requests` inline, or `input`, a file the server can read."""

    requests: list[dict[str, Any] | str]
    """Plain request lines (`{"id", "prompt" | "messages", ...}`) or bare prompts."""
    input: str
    """A .jsonl, .csv or .parquet file on the machine that runs the graph."""


READ_KEYS = frozenset(ReadSpec.__annotations__)
OPTION_KEYS = frozenset(JobOptions.__annotations__)
JOB_KEYS = frozenset(NewJob.__annotations__)


@dataclass(frozen=True)
class JobSpec:
    """A checked job request."""

    provider: str
    read: ReadOptions
    requests: list[dict[str, Any]] | None = None
    input: str | None = None
    name: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    batch_size: int | None = None
    approve_cost: bool = False
    cache: bool = True
    inline_results: int = DEFAULT_INLINE_RESULTS
    page_size: int = DEFAULT_PAGE_SIZE
    settings: dict[str, Any] = field(default_factory=dict)
    """The checked options as given, without requests (kept in state for later nodes)."""


def resolve_spec(
    defaults: JobOptions, given: Mapping[str, Any] | None, where: str = "new_job"
) -> JobSpec:
    """`given` over `defaults`, checked: each mistake named with where it goes instead."""
    merged: dict[str, Any] = dict(defaults)
    raw = dict(given or {})
    _refuse_unknown(raw, JOB_KEYS, where)
    read = dict(merged.pop("read", None) or {})
    given_read = raw.pop("read", None) or {}
    if not isinstance(given_read, dict):
        raise ConfigError(f"{where}.read must be an object of reader options, like the CLI's")
    _refuse_unknown(given_read, READ_KEYS, f"{where}.read")
    read.update(given_read)
    merged.update(raw)
    if "model" in merged:
        model = merged.pop("model")
        if read.get("model", model) != model:
            raise ConfigError(
                f"{where}.model ({model!r}) and {where}.read.model ({read['model']!r}) differ "
                "— give the model once"
            )
        read["model"] = model
    requests, path = merged.pop("requests", None), merged.pop("input", None)
    if (requests is None) == (path is None):
        raise ConfigError(
            f"{where}: give either requests (a list of prompts or request lines) or input "
            "(a file the server can read), not both or neither"
        )
    if not merged.get("provider"):
        raise ConfigError(f"{where}.provider is missing — name one: {', '.join(registry.names())}")
    return JobSpec(
        provider=str(merged["provider"]),
        read=_read_options(read, where),
        requests=None if requests is None else request_lines(requests, where),
        input=None if path is None else str(path),
        name=merged.get("name"),
        max_attempts=_whole(merged, "max_attempts", DEFAULT_MAX_ATTEMPTS, where),
        batch_size=_whole(merged, "batch_size", None, where),
        approve_cost=_flag(merged, "approve_cost", False, where),
        cache=_flag(merged, "cache", True, where),
        inline_results=_whole(merged, "inline_results", DEFAULT_INLINE_RESULTS, where, least=0),
        page_size=_whole(merged, "page_size", DEFAULT_PAGE_SIZE, where),
        settings={**merged, "read": read},
    )


def request_lines(requests: object, where: str) -> list[dict[str, Any]]:
    """Inline requests as plain JSONL lines; a bare string is a prompt whose id is its position."""
    if not isinstance(requests, list):
        raise ConfigError(f"{where}.requests must be a list of prompts or request objects")
    lines: list[dict[str, Any]] = []
    for n, item in enumerate(requests):
        if isinstance(item, str):
            lines.append({"id": str(n), "prompt": item})
        elif isinstance(item, dict):
            lines.append(item)
        else:
            raise ConfigError(
                f"{where}.requests[{n}] is a {type(item).__name__} — give a prompt string or "
                'an object like {"id": "q1", "prompt": "..."}'
            )
    return lines


def write_inline(lines: list[dict[str, Any]], folder: Path) -> Path:
    """Inline requests as a JSONL file named by its content: written once, atomically."""
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    path = folder / f"{digest}.jsonl"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return path


def inline_error(error: InputError) -> InputError:
    """The same problems, said of the inline list: line n is requests[n-1]."""
    return InputError("requests (line n is requests[n-1])", error.problems, error.more)


def job_key(place: tuple[str, ...], settings: dict[str, Any], path: Path, inline: bool) -> str:
    """A stable job id for this job asked for in this place (thread and graph namespace).

    The same request in the same place is the same job, so a step run again after a crash, or a
    parent graph run again from its start, reaches the job it created before. Inline requests
    are known by their file's name (a hash of their content); a file by its path, size and
    modification time.
    """
    if inline:
        content: list[Any] = [path.name]
    else:
        stat = path.stat()
        content = [str(path), stat.st_size, stat.st_mtime_ns]
    identity = json.dumps([list(place), content, settings], sort_keys=True, default=str)
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def _refuse_unknown(given: dict[str, Any], known: frozenset[str], where: str) -> None:
    for key in given:
        if key in known:
            continue
        if key in READ_KEYS:
            raise ConfigError(f"{where}.{key} is a reader option — put it under {where}.read")
        if key in JOB_KEYS and where.endswith(".read"):
            outer = where.removesuffix(".read")
            raise ConfigError(f"{where}.{key} is a job setting — put it in {outer} itself")
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
        raise ConfigError(f"{where}: unknown key {key!r} — {hint}")


def _read_options(read: dict[str, Any], where: str) -> ReadOptions:
    try:
        return ReadOptions.from_json(read)
    except ValueError as err:
        raise ConfigError(f"{where}.read: {err}") from err


def _whole(given: dict[str, Any], key: str, default: int | None, where: str, least: int = 1) -> Any:
    value = given.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(
            f"{where}.{key} must be a whole number of at least {least}, not {value!r}"
        )
    return value


def _flag(given: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = given.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key} must be true or false, not {value!r}")
    return value
