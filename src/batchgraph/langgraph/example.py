"""An example of a user's graph around the batch subgraph: write prompts, batch, use answers.

    START ─► write_prompts ─► batch (the subgraph) ─► tally ─► END

Input: `{"topics": [...], "provider": "sandbox-openai", "model": "gpt-4o-mini"}`. The first
run writes the prompts and submits; it ends while the batches run. A later run
(`command={"resume": True}`) finds the answers and tallies them.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from typing_extensions import TypedDict

from batchgraph.api import Batchgraph
from batchgraph.langgraph import BgSource, JobOptions, ResultsRef, batch_subgraph, read_results


class TopicsInput(TypedDict, total=False):
    topics: list[str]
    provider: str
    model: str


class TopicsState(TopicsInput, total=False):
    requests: list[dict[str, Any] | str] | None
    options: JobOptions | None
    results: list[dict[str, Any]] | None
    results_ref: ResultsRef | None
    job_id: str | None
    answers: dict[str, str]
    summary: dict[str, Any]


class TopicsOutput(TypedDict, total=False):
    job_id: str | None
    answers: dict[str, str]
    summary: dict[str, Any]


def write_prompts(state: TopicsState) -> dict[str, Any]:
    """One request per topic, with the topic as its id."""
    requests: list[dict[str, Any] | str] = [
        {"id": topic, "prompt": f"In one sentence, what is {topic}?"} for topic in state["topics"]
    ]
    options = JobOptions(provider=state["provider"], model=state["model"])
    return {"requests": requests, "options": options}


def tally(state: TopicsState, bg: Batchgraph | None = None) -> dict[str, Any]:
    """The answers by topic, and how many of them succeeded: from the state for a small job,
    else from the LangGraph store's pages (or batchgraph's store, `bg`, when there is none)."""
    from langgraph.config import get_store

    results = state.get("results")
    ref = state.get("results_ref")
    if results is None and ref is not None:
        results = list(read_results(ref, store=get_store(), bg=bg))
    answers = {r["id"]: r["text"] or "" for r in results or []}
    succeeded = sum(1 for r in results or [] if r["status"] == "succeeded")
    return {"answers": answers, "summary": {"topics": len(answers), "succeeded": succeeded}}


def topics_graph(
    bg: BgSource = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    store: BaseStore | None = None,
    **batch_options: Any,
) -> Any:
    """The example graph, compiled with `checkpointer` and `store` (on a server, none: it
    lends its own); `batch_options` are `batch_subgraph`'s, such as `batch_size`."""
    builder = StateGraph(TopicsState, input_schema=TopicsInput, output_schema=TopicsOutput)
    builder.add_node("write_prompts", write_prompts)
    builder.add_node("batch", batch_subgraph(bg, **batch_options))
    builder.add_node("tally", partial(tally, bg=bg if isinstance(bg, Batchgraph) else None))
    builder.add_edge(START, "write_prompts")
    builder.add_edge("write_prompts", "batch")
    builder.add_edge("batch", "tally")
    builder.add_edge("tally", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="batch_example")
