"""The batch component's state, and the input and output schemas a server publishes.

Small, JSON-like values only (the rule of the job graph's state holds here too): requests
come in once, and the results go out inline only for small jobs; the rest live in the stores.
"""

from __future__ import annotations

from typing import Annotated, Any

from typing_extensions import TypedDict

from batchgraph.graph.state import ChunkView, merge_chunks
from batchgraph.langgraph.results import ResultsRef
from batchgraph.langgraph.spec import JobOptions, NewJob


class BatchInput(TypedDict, total=False):
    """The subgraph's input: requests (or a file the graph's machine can read) and options
    that override the ones the subgraph was built with."""

    requests: list[dict[str, Any] | str] | None
    input: str | None
    options: JobOptions | None


class JobInput(TypedDict, total=False):
    """The job graph's input: the job to create, on a new thread; `{}` later ticks it."""

    new_job: NewJob | None


class BatchOutput(TypedDict, total=False):
    """What the component shows: the job, where its batches stand, and once done the results
    (inline for small jobs), where all of them are (`results_ref`), the report and the cost."""

    job_id: str | None
    status: str | None
    """submitted, running, done or cancelled (the job's status in batchgraph's store)."""
    counts: dict[str, int]
    """Requests per ledger status."""
    chunks: Annotated[dict[str, ChunkView], merge_chunks]
    cost: dict[str, Any] | None
    """batch_usd and sync_usd of the batches collected so far."""
    estimate: dict[str, Any] | None
    last_error: str | None
    results: list[dict[str, Any]] | None
    results_ref: ResultsRef | None
    report: dict[str, Any] | None


class BatchState(BatchInput, JobInput, BatchOutput, total=False):
    """Everything the nodes share."""

    spec: dict[str, Any] | None
    """The checked options, between `prepare` and `create`."""
    approved: bool | None
    settings: dict[str, Any]
    """How to hand the results out (inline limit, page size)."""
