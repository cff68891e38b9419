"""One step of one job, under the job's lock, with the right input for its thread.

LangGraph has no per-thread lock and discards pending work when a thread with pending tasks gets
new input; so the lock is taken here, and the input is chosen from the saved state:
`None` to resume a run that stopped part-way, the job id for a fresh thread, `{}` otherwise.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from batchgraph.graph.state import JobState


def thread_config(job_id: str) -> dict[str, Any]:
    """A job's LangGraph thread is named after the job."""
    return {"configurable": {"thread_id": job_id}}


def choose_input(graph: CompiledStateGraph[JobState, Any, JobState, JobState], job_id: str) -> Any:
    snapshot = graph.get_state(thread_config(job_id))  # type: ignore[arg-type]
    if not snapshot.values:
        return JobState(job_id=job_id)
    if snapshot.next:
        return None
    return {}


def tick_graph(
    graph: CompiledStateGraph[JobState, Any, JobState, JobState], job_id: str
) -> dict[str, Any]:
    """Advance the job's thread by one invocation; return the saved state after it.

    The caller holds the job's lock.
    """
    config = thread_config(job_id)
    graph.invoke(choose_input(graph, job_id), config, durability="sync")  # type: ignore[arg-type]
    return dict(graph.get_state(config).values)  # type: ignore[arg-type]
