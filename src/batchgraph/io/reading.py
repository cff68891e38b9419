"""Validating and reading an input file: the two calls the CLI and the graph make.

`validate_input` reads every line before anything is sent and reports every bad one with its
number and the fix; `read_requests` then streams the requests in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from batchgraph.errors import ConfigError, InputError, InputProblem
from batchgraph.io.duplicates import IdHashes, duplicate_problems
from batchgraph.io.jsonl import jsonl_entries, sniff_jsonl_format
from batchgraph.io.options import InputFormat, ReadOptions, format_from_extension
from batchgraph.io.problems import DEFAULT_LIMIT, Entry, ProblemLog
from batchgraph.io.tables import table_entries
from batchgraph.model import Kind, Request

RequestCheck = Callable[[Request], str | None]
"""A provider's own check (`Provider.check_request`): why it would refuse a request, or None."""

CHARS_PER_TOKEN = 4


@dataclass(slots=True)
class ModelTally:
    """What one model is asked for: enough for a cost estimate before anything is sent."""

    requests: int = 0
    input_tokens: int = 0
    """Estimated as characters / 4."""
    max_output_tokens: int = 0
    """The sum of `max_tokens` over the requests that set it."""
    without_max_tokens: int = 0
    """Requests with no `max_tokens`, whose output has no known bound."""


@dataclass(slots=True)
class InputSummary:
    """What a valid input holds."""

    source: str
    format: InputFormat
    count: int = 0
    kinds: dict[Kind, int] = field(default_factory=dict)
    models: dict[str, ModelTally] = field(default_factory=dict)

    @property
    def input_tokens(self) -> int:
        return sum(tally.input_tokens for tally in self.models.values())

    def add(self, request: Request) -> None:
        self.count += 1
        self.kinds[request.kind] = self.kinds.get(request.kind, 0) + 1
        tally = self.models.get(request.model)
        if tally is None:  # not `setdefault`, which would build a tally for every request
            tally = self.models[request.model] = ModelTally()
        tally.requests += 1
        tally.input_tokens += estimate_input_tokens(request)
        if request.max_tokens is None:
            tally.without_max_tokens += 1
        else:
            tally.max_output_tokens += request.max_tokens


def estimate_input_tokens(request: Request) -> int:
    """Characters / 4, rounded up: a rough count, good enough for a dry-run estimate."""
    chars = len(request.system or "") + len(request.input or "")
    for message in request.messages:  # a loop, not sum(): no generator for one or two messages
        content = message.get("content")
        chars += len(content) if isinstance(content, str) else len(str(content or ""))
    if request.kind is Kind.RESPONSE and request.params:
        chars += len(str(request.params.get("input", "")))
    return -(-chars // CHARS_PER_TOKEN)


def resolve_format(path: Path, options: ReadOptions) -> InputFormat:
    """The format the options name, else the extension's, told apart further by the first line."""
    fmt = options.format or format_from_extension(path)
    if fmt is InputFormat.JSONL and options.format is None:
        return sniff_jsonl_format(path)
    return fmt


def validate_input(
    path: Path,
    options: ReadOptions,
    check: RequestCheck | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    each: Callable[[Request], object] | None = None,
) -> InputSummary:
    """Read every line; raise `InputError` naming each bad line (up to `limit`) and its fix.

    `each` sees every valid request on the way (an estimate draws its sample there)."""
    summary = InputSummary(str(path), _existing_format(path, options))
    for request in validated_requests(path, options, check, summary=summary, limit=limit):
        if each is not None:
            each(request)
    return summary


def validated_requests(
    path: Path,
    options: ReadOptions,
    check: RequestCheck | None = None,
    *,
    summary: InputSummary | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Iterator[Request]:
    """Validate every line as `validate_input` does, yielding the requests on the way.

    One pass instead of two for a caller that stores the requests in a transaction: after the
    last line, `InputError` is raised if any line was bad (rolling that transaction back). No
    request is yielded after the first bad line. `summary`, when given, is filled in.
    """
    fmt = _existing_format(path, options)
    summary = summary if summary is not None else InputSummary(str(path), fmt)
    log = ProblemLog(limit)
    hashes = IdHashes()
    for entry in _entries(path, fmt, options):
        log.lines += 1
        for problem in entry.problems:
            log.add(problem)
        if entry.id is not None:
            hashes.add(entry.id)
        if entry.request is not None:
            _check_request(entry.request, check, log)
            summary.add(entry.request)
            if not log:
                yield entry.request
    if summary.count == 0 and not log:
        log.add(InputProblem(1, "the file holds no requests", "add at least one line"))
    repeated = hashes.repeated()
    if repeated:
        ids = ((e.line, e.id) for e in _entries(path, fmt, options) if e.id is not None)
        for problem in duplicate_problems(ids, repeated):
            log.add(problem)
    if log:
        raise log.error(str(path))


def read_requests(path: Path, options: ReadOptions) -> Iterator[Request]:
    """Stream the requests of a validated input in input order.

    Meant to follow `validate_input`; a bad line met here still raises `InputError`.
    """
    fmt = _existing_format(path, options)
    for entry in _entries(path, fmt, options):
        if entry.problems:
            raise InputError(str(path), list(entry.problems))
        if entry.request is not None:
            yield entry.request


def require_input_file(path: Path) -> None:
    """Refuse a path that is not a readable file, saying what it is instead."""
    if path.is_dir():
        raise ConfigError(f"{path} is a folder — give the input file inside it")
    if not path.is_file():
        raise ConfigError(f"{path}: no such input file — check the path")


def _existing_format(path: Path, options: ReadOptions) -> InputFormat:
    require_input_file(path)
    return resolve_format(path, options)


def _entries(path: Path, fmt: InputFormat, options: ReadOptions) -> Iterator[Entry]:
    if fmt.is_table:
        return table_entries(path, fmt, options)
    return jsonl_entries(path, fmt, options)


def _check_request(request: Request, check: RequestCheck | None, log: ProblemLog) -> None:
    if check is None:
        return
    message = check(request)
    if message is None:
        return
    problem, _, fix = message.partition(" — ")
    log.add(InputProblem(request.line, problem, fix or "change this line for this provider"))
