"""batchgraph as a LangGraph component: a subgraph to add to your own graph, and the job graph.

    from langgraph.graph import StateGraph
    from batchgraph.langgraph import batch_subgraph

    builder = StateGraph(MyState)              # MyState has `requests` and `results` keys
    builder.add_node("write_prompts", write_prompts)     # sets state["requests"]
    builder.add_node("batch", batch_subgraph(provider="openai", model="gpt-4o-mini"))
    builder.add_node("use_answers", use_answers)         # reads state["results"]
    ...

The subgraph takes `requests` (prompts, or request lines like the CLI's JSONL), or `input` (a
file on the machine that runs the graph), plus `options` overriding the ones it was built
with. While the provider works on the batches, the run ends with an interrupt; the next run of
the thread (`Command(resume=…)`, new input, or a LangGraph cron) checks again, and once every
request has its result the subgraph outputs `results` (inline up to `inline_results`
requests), `results_ref` (the job and its pages in the LangGraph store), `report` and `cost`.
See `read_results` to read every result from either store.
"""

from __future__ import annotations

from typing import Any

from batchgraph.langgraph.build import BatchGraph, build_batch_graph
from batchgraph.langgraph.nodes import BatchNodes, BgSource
from batchgraph.langgraph.results import ResultsRef, read_results, results_namespace
from batchgraph.langgraph.spec import (
    DEFAULT_INLINE_RESULTS,
    DEFAULT_PAGE_SIZE,
    JobOptions,
    NewJob,
    ReadSpec,
)
from batchgraph.langgraph.state import BatchInput, BatchOutput, JobInput

__all__ = [
    "BatchGraph",
    "BatchInput",
    "BatchOutput",
    "BgSource",
    "JobInput",
    "JobOptions",
    "NewJob",
    "ReadSpec",
    "ResultsRef",
    "batch_subgraph",
    "job_graph",
    "read_results",
    "results_namespace",
]


def batch_subgraph(
    bg: BgSource = None,
    *,
    provider: str | None = None,
    model: str | None = None,
    read: ReadSpec | None = None,
    approve_cost: bool = False,
    cache: bool = True,
    max_attempts: int | None = None,
    batch_size: int | None = None,
    inline_results: int = DEFAULT_INLINE_RESULTS,
    page_size: int = DEFAULT_PAGE_SIZE,
    name: str = "batch",
) -> BatchGraph:
    """A compiled graph to add as a node of your own graph: requests in, results out.

    `bg` is batchgraph's store (a `Batchgraph`, a function opening one, or None for
    `Batchgraph.open()`). The other arguments are defaults that the input's `options` may
    override; `approve_cost=True` pauses with the estimated cost before anything is sent;
    `cache=False` sends every request, even one an earlier job answered (fresh samples).
    """
    options: dict[str, Any] = {
        "approve_cost": approve_cost,
        # Only when off: a job's id hashes its settings, and jobs asked for before this
        # option existed must keep theirs.
        **({} if cache else {"cache": False}),
        "inline_results": inline_results,
        "page_size": page_size,
    }
    for key, value in (
        ("provider", provider),
        ("model", model),
        ("read", read),
        ("max_attempts", max_attempts),
        ("batch_size", batch_size),
    ):
        if value is not None:
            options[key] = value
    nodes = BatchNodes(bg, JobOptions(**options))  # type: ignore[typeddict-item]
    return build_batch_graph(nodes, BatchInput, BatchOutput, name)


def job_graph(bg: BgSource = None, *, name: str = "batch_job") -> BatchGraph:
    """The job graph a LangGraph server exposes: `{"new_job": {...}}` on a new thread creates
    a job; later runs (a resume, `{}` or a cron) tick it until the results are there."""
    return build_batch_graph(BatchNodes(bg, JobOptions()), JobInput, BatchOutput, name)
