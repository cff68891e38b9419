"""The job graph: START routes on where the job stands, one invocation is one tick.

    START ─► plan ─► submit_chunk ×N (Send) ─► END
      │        ▲ (or hedge / run_sync / collect_chunk / settle, when nothing is left to plan)
      ├─► hedge ─► run_sync │ settle │ END (a cancelled batch still ending: next tick)
      ├─► run_sync ─► settle (its chunks all answered) │ END (requests left: next tick)
      └─► collect_chunk ×N (Send) ─► settle ─► report ─► END
          (check each batch;            │ retry: plan
           collect the ended ones)      │ batches still running: END

Synchronous chunks (hosts without a Batch API, `--mode sync`, a deadline's hedge) are sent by
`run_sync`, one call per request, for a slice of time per tick. Once a job's deadline minus
its margin has passed, `hedge` cancels its running batches, keeps what they finished and moves
the rest into synchronous chunks (`graph.hedge`); it runs before anything else but planning.

Nothing sleeps inside the graph: a tick that finds batches still running ends, and the runner
(or a worker, or the LangGraph component in `batchgraph.langgraph`) ticks again later. Each
conditional edge lists only the nodes its route can return, so the drawn graph shows no edge
that cannot be taken.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send

from batchgraph.deps import Deps
from batchgraph.graph.hedge import HEDGING, HedgeStep, hedge_due
from batchgraph.graph.nodes import JobNodes
from batchgraph.graph.pacing import sendable
from batchgraph.graph.state import ChunkTask, JobState
from batchgraph.graph.sync_node import SYNCING, SyncStep, open_sync_chunks
from batchgraph.store.base import ChunkStatus, JobStatus, LedgerStatus

Route = str | list[Send]


def build_graph(deps: Deps) -> StateGraph[JobState, Any, JobState, JobState]:
    """The uncompiled graph; compile it with the store's checkpointer (or let a server)."""
    nodes = JobNodes(deps)
    store = deps.store

    def sends(job_id: str, node: str, chunks: list[int]) -> list[Send]:
        return [Send(node, ChunkTask(job_id=job_id, chunk=n)) for n in chunks]

    def route_start(state: JobState) -> Route:
        if not state.get("job_id"):
            return END
        return route_job(state["job_id"])

    def route_job(job_id: str) -> Route:
        job = store.get_job(job_id)
        if job.report is not None:
            return END
        chunks = store.list_chunks(job_id)
        cancelled = job.status is JobStatus.CANCELLED
        if not cancelled and store.counts(job_id)[LedgerStatus.PENDING]:
            return "plan"
        if not cancelled and hedge_due(deps, job, chunks):
            return "hedge"
        if not cancelled and any(c.sync and c.status is not ChunkStatus.COLLECTED for c in chunks):
            return "run_sync"
        unsent = sendable(job, chunks, nodes.prompt_tokens)
        if unsent and not cancelled:
            return sends(job_id, "submit_chunk", unsent)
        running = [c.chunk for c in chunks if c.status is ChunkStatus.SUBMITTED and not c.sync]
        if running:
            return sends(job_id, "collect_chunk", running)
        return "settle"

    def route_after_plan(state: JobState) -> Route:
        return route_job(state["job_id"])  # never "plan": nothing is left pending

    def route_after_hedge(state: JobState) -> Route:
        if open_sync_chunks(store, state["job_id"]):
            return "run_sync"
        return END if state.get("phase") == HEDGING else "settle"

    def route_after_sync(state: JobState) -> Route:
        return END if state.get("phase") == SYNCING else "settle"

    def route_after_settle(state: JobState) -> Route:
        phase = state.get("phase")
        if phase == "retrying":
            return "plan"
        return "report" if phase == "reporting" else END

    graph = StateGraph(JobState)
    graph.add_node("plan", nodes.plan)
    graph.add_node("submit_chunk", nodes.submit_chunk)  # type: ignore[arg-type]
    graph.add_node("collect_chunk", nodes.collect_chunk)  # type: ignore[arg-type]
    graph.add_node("hedge", HedgeStep(deps, nodes).hedge)
    graph.add_node("run_sync", SyncStep(deps).run_sync)
    graph.add_node("settle", nodes.settle)
    graph.add_node("report", nodes.report)
    chunk_steps = ["submit_chunk", "hedge", "run_sync", "collect_chunk", "settle", END]
    graph.add_conditional_edges(START, route_start, ["plan", *chunk_steps])
    graph.add_conditional_edges("plan", route_after_plan, chunk_steps)
    graph.add_conditional_edges("hedge", route_after_hedge, ["run_sync", "settle", END])
    graph.add_edge("submit_chunk", END)
    graph.add_edge("collect_chunk", "settle")
    graph.add_conditional_edges("run_sync", route_after_sync, ["settle", END])
    graph.add_conditional_edges("settle", route_after_settle, ["plan", "report", END])
    graph.add_edge("report", END)
    return graph


def compile_graph(deps: Deps) -> CompiledStateGraph[JobState, Any, JobState, JobState]:
    """The graph with the store's own checkpointer, as the runner uses it."""
    return build_graph(deps).compile(checkpointer=deps.store.checkpointer())
