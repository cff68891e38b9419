"""Checking an OpenAI batch input file in one streamed pass, as the service's validating phase
does: every problem becomes an `errors.data[]` entry with its 1-based line, and the batch then
reports `failed` instead of running."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchgraph.sandbox.responder import count_tokens, text_of

MAX_EMBEDDING_INPUTS = 50_000
MAX_REPORTED_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class Limits:
    """A host's caps on one batch input file."""

    max_requests: int
    max_bytes: int


@dataclass
class InputCheck:
    """What validation learned: the request count, the one model, and the problems found."""

    total: int = 0
    model: str | None = None
    tokens: int = 0
    """The prompt tokens of every request, as the enqueued-token limit counts them."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    embedding_inputs: int = 0

    def problem(self, code: str, message: str, line: int | None, param: str | None = None) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"code": code, "message": message, "param": param, "line": line})


def check_input(
    path: Path, size: int, endpoint: str, limits: Limits | None, canonical: str | None = None
) -> InputCheck:
    """Validate the JSONL file at `path` for a batch on `endpoint` (which every line's url must
    name; `canonical` is the OpenAI endpoint it stands for, when a host spells it otherwise),
    and against `limits` unless they are None."""
    check = InputCheck()
    if limits is not None and size > limits.max_bytes:
        check.problem(
            "file_too_large",
            f"The input file is {size} bytes; batch input files may be at most {limits.max_bytes}.",
            None,
        )
        return check
    seen: set[str] = set()
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            check.total += 1
            _check_line(check, raw, number, endpoint, seen, canonical or endpoint)
    if check.total == 0:
        check.problem("empty_file", "The input file is empty.", None)
    if limits is None:
        return check
    if check.total > limits.max_requests:
        check.problem(
            "too_many_tasks",
            f"The batch has {check.total} requests; a batch may hold at most "
            f"{limits.max_requests}.",
            None,
        )
    if check.embedding_inputs > MAX_EMBEDDING_INPUTS:
        check.problem(
            "too_many_tasks",
            f"The batch has {check.embedding_inputs} embedding inputs; "
            f"at most {MAX_EMBEDDING_INPUTS} are allowed across a batch.",
            None,
        )
    return check


def _check_line(
    check: InputCheck, raw: bytes, number: int, endpoint: str, seen: set[str], canonical: str
) -> None:
    try:
        line = json.loads(raw)
    except ValueError:
        line = None
    if not isinstance(line, dict):
        check.problem("invalid_json_line", "This line is not parseable as valid JSON.", number)
        return
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        check.problem("missing_required_parameter", "Missing custom_id.", number, param="custom_id")
    elif custom_id in seen:
        check.problem(
            "duplicate_custom_id",
            f"The custom_id for this request is a duplicate of another request: {custom_id}.",
            number,
            param="custom_id",
        )
    else:
        seen.add(custom_id)
    if line.get("method") != "POST":
        check.problem("invalid_method", "Only the POST method is supported.", number, "method")
    if line.get("url") != endpoint:
        check.problem(
            "url_mismatch",
            f"The url of this request does not match the batch endpoint {endpoint}.",
            number,
            param="url",
        )
    body = line.get("body")
    if not isinstance(body, dict):
        check.problem("invalid_request", "The body must be a JSON object.", number, "body")
        return
    check.tokens += prompt_tokens(body)
    _check_body(check, body, number, canonical)


def prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt tokens of one request body: its messages' (or input's) text."""
    messages = body.get("messages")
    if isinstance(messages, list):
        return sum(count_tokens(text_of(m.get("content"))) for m in messages if isinstance(m, dict))
    return count_tokens(text_of(body.get("input", "")))


def _check_body(check: InputCheck, body: dict[str, Any], number: int, endpoint: str) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        check.problem("missing_required_parameter", "Model is required.", number, "body.model")
    elif check.model is None:
        check.model = model
    elif model != check.model:
        check.problem(
            "model_mismatch",
            f"All requests in a batch must use the same model: expected {check.model}, "
            f"got {model}.",
            number,
            param="body.model",
        )
    if body.get("stream"):
        check.problem("invalid_request", "Streaming is not supported in batches.", number, "body")
    if endpoint == "/v1/embeddings":
        value = body.get("input")
        check.embedding_inputs += len(value) if isinstance(value, list) else 1
