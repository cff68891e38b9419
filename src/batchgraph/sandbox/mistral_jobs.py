"""Mistral batch jobs as the API shows them: status from the clock, counts, result files.

Phases map onto Mistral's statuses (validating is QUEUED, running and finalizing are RUNNING,
expired is TIMEOUT_EXCEEDED). `total_requests` stays 0 while QUEUED, as validation has not counted
the input yet. A job whose every request failed ends FAILED rather than SUCCESS. When a job
ends, its output and error files are written once, in an order different from the input; a job
that timed out or was cancelled keeps the part that finished.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchgraph.sandbox.clock import Phase, Progress, progress
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.mistral_create import counts, stored_requests
from batchgraph.sandbox.mistral_files import PROVIDER, result_file
from batchgraph.sandbox.mistral_lines import (
    SERVER_ERROR,
    LineContext,
    Problem,
    envelope_line,
    success_body,
)
from batchgraph.sandbox.results import ShuffledLines
from batchgraph.sandbox.storage import BatchRecord, SandboxStore

STATUSES = {
    Phase.VALIDATING: "QUEUED",
    Phase.RUNNING: "RUNNING",
    Phase.FINALIZING: "RUNNING",
    Phase.COMPLETED: "SUCCESS",
    Phase.EXPIRED: "TIMEOUT_EXCEEDED",
    Phase.CANCELLING: "CANCELLATION_REQUESTED",
    Phase.CANCELLED: "CANCELLED",
}
ALL_STATUSES = (*dict.fromkeys(STATUSES.values()), "FAILED")


def job_json(
    ctx: SandboxContext, record: BatchRecord, *, inline: bool = False, queued: bool = False
) -> dict[str, Any]:
    """The `BatchJob` object now (`queued`: as the create call answers, before validation)."""
    spec = record.spec
    created = record.timeline.created
    at = progress(record.timeline, created if queued else ctx.now(), record.cancel_requested)
    job: dict[str, Any] = {
        "id": record.id,
        "object": "batch",
        "input_files": spec["input_files"],
        "metadata": spec["metadata"],
        "endpoint": spec["endpoint"],
        "model": spec["model"],
        "agent_id": spec["agent_id"],
        "output_file": None,
        "error_file": None,
        "errors": [],
        "outputs": None,
        "status": "QUEUED" if queued else STATUSES[at.phase],
        "created_at": int(created),
        "total_requests": 0,
        "completed_requests": 0,
        "succeeded_requests": 0,
        "failed_requests": 0,
        "started_at": None,
        "completed_at": None,
    }
    if queued or at.phase is Phase.VALIDATING:
        return job
    job["total_requests"] = spec["total"]
    job["started_at"] = _stamp(created, at.at(Phase.RUNNING))
    if at.phase.terminal:
        outcome = ctx.settle(record, lambda r: settle(ctx.store, r, at))
        _fill_outcome(job, outcome, at)
        if inline:
            job["outputs"] = list(_outputs(ctx.store, outcome))
    else:
        completed, failed = counts(ctx.store, record.id, at.done_share)
        job.update(
            completed_requests=completed,
            succeeded_requests=completed - failed,
            failed_requests=failed,
        )
    return job


def status_of(ctx: SandboxContext, record: BatchRecord) -> str:
    """The job's status now (for list filters)."""
    return str(job_json(ctx, record)["status"])


def _fill_outcome(job: dict[str, Any], outcome: dict[str, Any], at: Progress) -> None:
    succeeded, failed = outcome["succeeded"], outcome["failed"]
    job.update(
        output_file=outcome["output_file"],
        error_file=outcome["error_file"],
        completed_requests=succeeded + failed,
        succeeded_requests=succeeded,
        failed_requests=failed,
        completed_at=outcome["completed_at"],
    )
    if at.phase is Phase.COMPLETED and _all_failed(outcome):
        job["status"] = "FAILED"
        job["errors"] = [{"message": "Every request of the batch failed", "count": failed}]


def _all_failed(outcome: dict[str, Any]) -> bool:
    return bool(outcome["succeeded"] == 0 and outcome["failed"] > 0)


def _stamp(created: float, offset: float | None) -> int | None:
    return None if offset is None else int(created + offset)


# -- settling: the result files ------------------------------------------------------------


def settle(store: SandboxStore, record: BatchRecord, at: Progress) -> dict[str, Any]:
    """Write the output and error files of an ended job; its outcome (deterministic)."""
    ended = max(at.events.values())
    context = LineContext(
        job_id=record.id,
        endpoint=record.spec["endpoint"],
        model=record.spec["model"],
        created=int(record.timeline.created + ended),
        seed=record.config.seed,
    )
    fates = Fates(record.config)
    output_id, error_id = _result_ids(record.id)
    with (
        store.writing(output_id) as output_file,
        store.writing(error_id) as error_file,
        ShuffledLines(output_file, f"{record.id}/output") as output,
        ShuffledLines(error_file, f"{record.id}/error") as errors,
    ):
        for entry in stored_requests(store, record.id):
            number, request = entry["n"], entry["request"]
            custom_id = request.get("custom_id")
            key = custom_id if custom_id is not None else f"#{number}"
            if not fates.finished(key, at.done_share):
                continue
            problem = Problem.from_json(entry["problem"])
            if problem is None and fates.fails(key):
                problem = SERVER_ERROR
            if problem is None:
                body = success_body(context, number, request["body"])
                output.write(envelope_line(context, number, custom_id, 200, body))
            else:
                line = envelope_line(context, number, custom_id, problem.status, problem.body)
                errors.write(line)
    return {
        "output_file": _register(
            store, output_id, record.id, "batch_result", output.count, context
        ),
        "error_file": _register(store, error_id, record.id, "batch_error", errors.count, context),
        "succeeded": output.count,
        "failed": errors.count,
        "completed_at": context.created,
    }


def _result_ids(job_id: str) -> tuple[str, str]:
    """Derived from the job id, so two processes settling one job write the same files."""
    namespace = uuid.UUID(job_id) if _is_uuid(job_id) else uuid.NAMESPACE_URL
    return str(uuid.uuid5(namespace, "output")), str(uuid.uuid5(namespace, "error"))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _register(
    store: SandboxStore, file_id: str, job_id: str, kind: str, lines: int, ctx: LineContext
) -> str | None:
    if lines == 0:
        store.file_path(file_id).unlink(missing_ok=True)
        return None
    result_file(store, file_id, job_id, kind, lines, ctx.created)
    return file_id


def _outputs(store: SandboxStore, outcome: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every result line, for `?inline=true`."""
    for file_id in (outcome["output_file"], outcome["error_file"]):
        if file_id and store.get_file(PROVIDER, file_id) is not None:
            with store.file_path(file_id).open("rb") as lines:
                for raw in lines:
                    yield json.loads(raw)


# -- listing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobFilter:
    """The list call's filters; `metadata` arrives flattened into the query string."""

    model: str | None = None
    agent_id: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    created_after: datetime | None = None
    statuses: tuple[str, ...] = ()

    def matches(self, ctx: SandboxContext, record: BatchRecord) -> bool:
        spec = record.spec
        metadata = spec["metadata"] or {}
        if self.model is not None and spec["model"] != self.model:
            return False
        if self.agent_id is not None and spec["agent_id"] != self.agent_id:
            return False
        if any(metadata.get(key) != value for key, value in self.metadata):
            return False
        if (
            self.created_after is not None
            and record.timeline.created < self.created_after.timestamp()
        ):
            return False
        return not self.statuses or status_of(ctx, record) in self.statuses


def list_jobs(
    ctx: SandboxContext, page: int, page_size: int, wanted: JobFilter, newest_first: bool
) -> tuple[list[BatchRecord], int]:
    """One page of matching jobs and how many match in all."""
    matching = [r for r in _all_jobs(ctx.store, newest_first) if wanted.matches(ctx, r)]
    start = page * page_size
    return matching[start : start + page_size], len(matching)


def _all_jobs(store: SandboxStore, newest_first: bool) -> Iterator[BatchRecord]:
    offset = 0
    while True:
        listed = store.list_batches(PROVIDER, limit=500, offset=offset, newest_first=newest_first)
        yield from listed.items
        if not listed.has_more:
            return
        offset += len(listed.items)
