"""The batch subgraph inside a user's graph, in one process: two-phase, on every provider."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from batchgraph.api import Batchgraph
from batchgraph.langgraph.example import topics_graph
from batchgraph.sandbox.server import SandboxHandle

from ..graph.conftest import MODELS, PROVIDERS


def config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


def run_until_done(graph: Any, thread: str, first: Any, limit: int = 50) -> dict[str, Any]:
    """Run, then resume the waiting thread until it ends without an interrupt."""
    graph.invoke(first, config(thread))
    for _ in range(limit):
        snapshot = graph.get_state(config(thread))
        if not snapshot.interrupts:
            return dict(snapshot.values)
        graph.invoke(Command(resume=True), config(thread))
    raise AssertionError("the job did not finish")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_user_graph_submits_in_one_run_and_tallies_answers_in_a_later_one(
    provider: str,
    bg: Batchgraph,
    batchgraph_sandbox: SandboxHandle,
) -> None:
    graph = topics_graph(bg, InMemorySaver(), InMemoryStore())
    topics = ["tides", "rainbows", "magnets"]
    first = graph.invoke(
        {"topics": topics, "provider": f"sandbox-{provider}", "model": MODELS[provider]},
        config("t1"),
    )

    snapshot = graph.get_state(config("t1"))
    assert [i.value["kind"] for i in snapshot.interrupts] == ["waiting"]
    assert "answers" not in first
    assert len(batchgraph_sandbox.creations(provider)) == 1

    values = run_until_done(graph, "t1", Command(resume=True))

    assert set(values["answers"]) == set(topics)
    assert values["summary"] == {"topics": 3, "succeeded": 3}
    assert len(batchgraph_sandbox.creations(provider)) == 1
