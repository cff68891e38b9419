"""The batch component's graph: one job, from its requests to its results, tick by tick.

    START ─► prepare ─► approve ─► create ─► tick ─► finish ─► END
      │                   │ declined           ▲ │ still running
      │                   └─► END              │ ▼
      └─► tick (a thread that has its job)     wait (interrupt: the run ends here)

`wait` ends the run with an interrupt whose payload says where the batches stand; the next
run (a resume, new input, or a cron) ticks again. A thread that already has its job goes
straight to `tick`, so even new input never creates a second job.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from batchgraph.errors import ConfigError
from batchgraph.langgraph.nodes import BatchNodes
from batchgraph.langgraph.state import BatchState

BatchGraph = CompiledStateGraph[BatchState, Any, Any, Any]


def build_batch_graph(
    nodes: BatchNodes, input_schema: type[Any], output_schema: type[Any], name: str
) -> BatchGraph:
    """The compiled graph, without a checkpointer of its own (a parent or server lends one)."""

    def route_start(state: BatchState) -> str:
        if state.get("job_id"):
            return "tick"
        if any(state.get(key) is not None for key in ("new_job", "requests", "input")):
            return "prepare"
        raise ConfigError(
            "nothing to do: this thread has no job yet — give new_job (the job graph) or "
            "requests or input (the batch subgraph); keys elsewhere are ignored"
        )

    def route_approved(state: BatchState) -> str:
        return "create" if state.get("approved") else END

    def route_ticked(state: BatchState) -> str:
        return "finish" if state.get("report") is not None else "wait"

    graph = StateGraph(BatchState, input_schema=input_schema, output_schema=output_schema)
    graph.add_node("prepare", nodes.prepare)
    graph.add_node("approve", nodes.approve)
    graph.add_node("create", nodes.create)
    graph.add_node("tick", nodes.tick)
    graph.add_node("wait", nodes.wait)
    graph.add_node("finish", nodes.finish)
    graph.add_conditional_edges(START, route_start, ["prepare", "tick"])
    graph.add_edge("prepare", "approve")
    graph.add_conditional_edges("approve", route_approved, ["create", END])
    graph.add_edge("create", "tick")
    graph.add_conditional_edges("tick", route_ticked, ["finish", "wait"])
    graph.add_edge("wait", "tick")
    graph.add_edge("finish", END)
    return graph.compile(name=name)
