"""Creating a Mistral batch job: the create body checked, every request read once.

The requests (from input files or inline) are checked line by line and copied into the job's own
request file, so deleting an input file later does not break the job. Beside it go the requests'
finish points, sorted, and those of the failing ones, so a job's counts at any moment are two
binary searches instead of a pass over its requests.
"""

from __future__ import annotations

import json
import math
import uuid
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.mistral_errors import invalid, not_found, refused
from batchgraph.sandbox.mistral_files import PROVIDER
from batchgraph.sandbox.mistral_lines import SERVED_ENDPOINTS, body_problem
from batchgraph.sandbox.storage import SandboxStore

ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/fim/completions",
    "/v1/moderations",
    "/v1/chat/moderations",
    "/v1/ocr",
    "/v1/classifications",
    "/v1/chat/classifications",
    "/v1/conversations",
    "/v1/audio/transcriptions",
)
FIELDS = ("input_files", "requests", "endpoint", "model", "agent_id", "metadata", "timeout_hours")
MAX_INLINE = 10_000
MAX_REQUESTS = 100_000
"""Per job, from Mistral's known limitations (the API reference caps only inline jobs)."""


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A create call's fields, checked."""

    endpoint: str
    model: str | None
    agent_id: str | None
    metadata: dict[str, str] | None
    timeout_hours: int
    input_files: list[str]
    inline: list[Any] | None

    def to_json(self, total: int) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "model": self.model,
            "agent_id": self.agent_id,
            "metadata": self.metadata,
            "timeout_hours": self.timeout_hours,
            "input_files": self.input_files,
            "total": total,
        }


def check_body(body: Any) -> JobSpec:
    """The create body's fields, or a 422 naming the first bad one as FastAPI would."""
    if not isinstance(body, dict):
        raise invalid([], "Input should be a valid dictionary", "dict_type", body)
    for key in body:
        if key not in FIELDS:
            raise invalid([key], "Extra inputs are not permitted", "extra_forbidden", body[key])
    endpoint = body.get("endpoint")
    if endpoint is None:
        raise invalid(["endpoint"], "Field required", "missing", body)
    if endpoint not in ENDPOINTS:
        raise invalid(
            ["endpoint"], "Input should be one of the ApiEndpoint values", "enum", endpoint
        )
    for name in ("model", "agent_id"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise invalid([name], "Input should be a valid string", "string_type", body[name])
    timeout = body.get("timeout_hours", 24)
    if not isinstance(timeout, int) or isinstance(timeout, bool):
        raise invalid(["timeout_hours"], "Input should be a valid integer", "int_type", timeout)
    if not 1 <= timeout <= 168:
        bound = "greater than or equal to 1" if timeout < 1 else "less than or equal to 168"
        raise invalid(
            ["timeout_hours"], f"Input should be {bound}", "ge" if timeout < 1 else "le", timeout
        )
    files, inline = _check_sources(body.get("input_files"), body.get("requests"))
    if endpoint not in SERVED_ENDPOINTS:
        raise refused(
            f"The sandbox runs batch jobs on {' and '.join(SERVED_ENDPOINTS)} only, not {endpoint}"
        )
    return JobSpec(
        endpoint=endpoint,
        model=body.get("model"),
        agent_id=body.get("agent_id"),
        metadata=_check_metadata(body.get("metadata")),
        timeout_hours=timeout,
        input_files=files,
        inline=inline,
    )


def _check_sources(files: Any, requests: Any) -> tuple[list[str], list[Any] | None]:
    if files is None and requests is None:
        raise refused("Either input_files or requests must be provided")
    if files is not None and requests is not None:
        raise refused("Provide either input_files or requests, not both")
    if requests is not None:
        if not isinstance(requests, list):
            raise invalid(["requests"], "Input should be a valid list", "list_type", requests)
        if len(requests) > MAX_INLINE:
            msg = (
                f"List should have at most {MAX_INLINE} items after validation, not {len(requests)}"
            )
            raise invalid(["requests"], msg, "too_long", len(requests))
        return [], requests
    if not isinstance(files, list) or not files:
        raise invalid(["input_files"], "Input should be a non-empty list", "list_type", files)
    for i, file_id in enumerate(files):
        if not isinstance(file_id, str) or not _is_uuid(file_id):
            msg = "Input should be a valid UUID"
            raise invalid(["input_files", i], msg, "uuid_parsing", file_id)
    return list(files), None


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise invalid(["metadata"], "Input should be a valid dictionary", "dict_type", metadata)
    for key, value in metadata.items():
        if not 1 <= len(key) <= 32:
            msg = "String should have between 1 and 32 characters"
            raise invalid(["metadata", key, "[key]"], msg, "string_length", key)
        if not isinstance(value, str) or not 1 <= len(value) <= 512:
            msg = "Input should be a string of 1 to 512 characters"
            raise invalid(["metadata", key], msg, "string_type", value)
    return dict(metadata)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# -- reading every request once ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobFiles:
    """Where a job keeps its own copy of the requests and its finish points."""

    requests: str
    finishes: str
    failures: str

    @classmethod
    def of(cls, job_id: str) -> JobFiles:
        return cls(f"{job_id}.requests", f"{job_id}.finishes", f"{job_id}.failures")


def ingest(store: SandboxStore, spec: JobSpec, job_id: str, config: SandboxConfig) -> int:
    """Check every request and copy it into the job's files; the number of requests.

    A malformed line, a duplicated custom_id, a missing model or too many requests (unless
    `config.enforce_limits` is off) refuse the whole job (400), naming the line.
    """
    fates = Fates(config)
    files = JobFiles.of(job_id)
    finishes = array("d")
    failures = array("d")
    seen: set[str] = set()
    count = 0
    with store.writing(files.requests) as out:
        for where, raw, item in _source_items(store, spec):
            count += 1
            if count > MAX_REQUESTS and config.enforce_limits:
                raise refused(
                    f"A batch job may hold at most {MAX_REQUESTS} requests; split the input"
                )
            custom_id, body = _check_item(where, item, spec.model, seen)
            key = custom_id if custom_id is not None else f"#{count}"
            problem = body_problem(spec.endpoint, body)
            point = fates.finish_point(key)
            finishes.append(point)
            if math.isfinite(point) and (problem is not None or fates.fails(key)):
                failures.append(point)
            # The request goes in as it came, not re-encoded: this loop runs 100,000 times.
            noted = b"null" if problem is None else json.dumps(problem.to_json()).encode()
            out.write(b'{"n":%d,"problem":%s,"request":%s}\n' % (count, noted, raw))
    if count == 0:
        store.file_path(files.requests).unlink(missing_ok=True)
        raise refused("The batch job has no requests; add at least one")
    for name, points in ((files.finishes, finishes), (files.failures, failures)):
        with store.writing(name) as out:
            array("d", sorted(points)).tofile(out)
    return count


def _source_items(store: SandboxStore, spec: JobSpec) -> Iterator[tuple[str, bytes, Any]]:
    """Each request: where it came from (for messages), its JSON text and its parsed value."""
    if spec.inline is not None:
        for i, item in enumerate(spec.inline):
            yield f"requests.{i}", json.dumps(item, separators=(",", ":")).encode(), item
        return
    for file_id in spec.input_files:
        record = store.get_file(PROVIDER, file_id)
        if record is None:
            raise not_found("File", file_id)
        if record.purpose != "batch":
            raise refused(
                f"File {file_id} was uploaded with purpose {record.purpose!r}; "
                "batch input files need purpose 'batch'"
            )
        yield from _file_lines(store.file_path(file_id), file_id)


def _file_lines(path: Path, file_id: str) -> Iterator[tuple[str, bytes, Any]]:
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            raw = line.strip()
            if not raw:
                continue
            where = f"input file {file_id} line {number}"
            try:
                item = json.loads(raw)
            except ValueError as err:
                raise refused(f"{where}: invalid JSON ({err})") from None
            yield where, raw, item


def _check_item(
    where: str, item: Any, job_model: str | None, seen: set[str]
) -> tuple[str | None, dict[str, Any]]:
    if not isinstance(item, dict):
        raise refused(f"{where}: expected a JSON object with custom_id and body")
    custom_id = item.get("custom_id")
    body = item.get("body")
    if custom_id is not None and not isinstance(custom_id, str):
        raise refused(f"{where}: custom_id must be a string")
    if not isinstance(body, dict):
        raise refused(f"{where}: body is required and must be a JSON object")
    if custom_id is not None:
        if custom_id in seen:
            raise refused(f"{where}: custom_id {custom_id!r} is used more than once")
        seen.add(custom_id)
    if job_model is None and not body.get("model"):
        raise refused(f"{where}: no model: give `model` on the job or in every request body")
    return custom_id, body


# -- counting from the finish points -------------------------------------------------------


@lru_cache(maxsize=256)
def _points(path: Path) -> array[float]:
    points = array("d")
    with path.open("rb") as source:
        points.frombytes(source.read())
    return points


def counts(store: SandboxStore, job_id: str, done_share: float) -> tuple[int, int]:
    """(completed, failed) once `done_share` of the running phase has passed."""
    files = JobFiles.of(job_id)
    finishes = _points(store.file_path(files.finishes))
    failures = _points(store.file_path(files.failures))
    # Every finishing request's point is below 1.0; a straggler's is infinite (never reached).
    return bisect_left(finishes, done_share), bisect_left(failures, done_share)


def stored_requests(store: SandboxStore, job_id: str) -> Iterator[dict[str, Any]]:
    """The job's requests in input order: `n` (1-based), `problem` and the `request`."""
    with store.file_path(JobFiles.of(job_id).requests).open("rb") as lines:
        for raw in lines:
            yield json.loads(raw)
