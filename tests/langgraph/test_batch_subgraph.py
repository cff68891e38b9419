"""The batch subgraph inside a user's graph, in one process: two-phase, on every provider."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError
from batchgraph.langgraph import batch_subgraph, job_graph
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


def test_job_moved_on_elsewhere_shows_in_state_and_a_held_lock_only_delays(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle
) -> None:
    graph = job_graph(bg).copy(update={"checkpointer": InMemorySaver()})
    new_job = {"requests": ["one", "two", "three"], "provider": "sandbox-mistral",
               "model": "mistral-small-latest"}  # fmt: skip
    first = graph.invoke({"new_job": new_job}, config("t"))
    job_id = first["job_id"]

    with bg.store.lock(job_id):  # another process (the CLI, a worker) is ticking the job
        waiting = graph.invoke(Command(resume=True), config("t"))
    assert "being advanced by another process" in waiting["last_error"]
    assert waiting["status"] == "running" and waiting["counts"] == {"queued": 3}
    assert graph.get_state(config("t")).interrupts

    bg.tick(job_id)  # … and collects it
    done = graph.invoke(Command(resume=True), config("t"))

    assert done["status"] == "done" and done["last_error"] is None
    assert done["counts"] == {"succeeded": 3}
    assert [r["id"] for r in done["results"]] == ["0", "1", "2"]
    assert len(batchgraph_sandbox.creations("mistral")) == 1


def test_a_declined_estimate_creates_no_job(bg: Batchgraph) -> None:
    graph = batch_subgraph(bg, provider="sandbox-openai", model="gpt-4o-mini", approve_cost=True)
    graph = graph.copy(update={"checkpointer": InMemorySaver()})

    graph.invoke({"requests": ["one", "two"]}, config("t"))
    (question,) = graph.get_state(config("t")).interrupts
    declined = graph.invoke(Command(resume=False), config("t"))

    assert question.value["estimate"]["requests"] == 2
    assert declined["status"] == "cancelled"
    assert bg.jobs() == []


def test_a_provider_unavailable_for_now_is_noted_and_tried_again_at_the_next_run(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle
) -> None:
    graph = job_graph(bg).copy(update={"checkpointer": InMemorySaver()})
    new_job = {"requests": ["one", "two"], "provider": "sandbox-openai", "model": "gpt-4o-mini"}
    batchgraph_sandbox.configure(server_error_rate=1.0)

    waiting = graph.invoke({"new_job": new_job}, config("t"))
    assert "trying again at the next run" in waiting["last_error"]
    assert graph.get_state(config("t")).interrupts
    assert batchgraph_sandbox.creations("openai") == []

    batchgraph_sandbox.configure(server_error_rate=0.0)
    values = run_until_done(graph, "t", Command(resume=True))

    assert values["status"] == "done" and values["counts"] == {"succeeded": 2}
    assert len(batchgraph_sandbox.creations("openai")) == 1


def test_an_unknown_provider_is_refused_with_the_known_ones(bg: Batchgraph) -> None:
    graph = job_graph(bg).copy(update={"checkpointer": InMemorySaver()})
    new_job = {"requests": ["one"], "provider": "nosuch", "model": "m"}

    with pytest.raises(ConfigError) as refused:
        graph.invoke({"new_job": new_job}, config("t"))

    assert "nosuch" in str(refused.value) and "openai" in str(refused.value)
    assert bg.jobs() == []


def test_a_job_the_cache_answers_sends_nothing_and_cache_false_sends_again(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle
) -> None:
    graph = job_graph(bg).copy(update={"checkpointer": InMemorySaver()})
    new_job = {"requests": ["one", "two"], "provider": "sandbox-openai", "model": "gpt-4o-mini"}

    paid = run_until_done(graph, "paid", {"new_job": new_job})
    cached = run_until_done(graph, "cached", {"new_job": new_job})
    assert len(batchgraph_sandbox.creations("openai")) == 1
    fresh = run_until_done(graph, "fresh", {"new_job": {**new_job, "cache": False}})

    assert len(batchgraph_sandbox.creations("openai")) == 2
    assert paid["report"]["reused"]["cache_hits"] == 0
    assert cached["report"]["reused"]["cache_hits"] == 2
    assert fresh["report"]["reused"]["cache_hits"] == 0
    assert [r["text"] for r in fresh["results"]] == [r["text"] for r in paid["results"]]


def test_a_cache_setting_that_is_not_true_or_false_is_refused(bg: Batchgraph) -> None:
    graph = job_graph(bg).copy(update={"checkpointer": InMemorySaver()})
    new_job = {"requests": ["one"], "provider": "sandbox-openai", "cache": "no"}

    with pytest.raises(ConfigError, match=r"new_job\.cache must be true or false, not 'no'"):
        graph.invoke({"new_job": new_job}, config("t"))

    assert bg.jobs() == []


def test_a_subgraph_built_with_cache_false_sends_what_an_earlier_job_answered(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle
) -> None:
    options = {"provider": "sandbox-openai", "model": "gpt-4o-mini"}
    cached = batch_subgraph(bg, **options).copy(update={"checkpointer": InMemorySaver()})
    fresh = batch_subgraph(bg, cache=False, **options)
    fresh = fresh.copy(update={"checkpointer": InMemorySaver()})

    run_until_done(cached, "a", {"requests": ["one", "two"]})
    again = run_until_done(cached, "b", {"requests": ["one", "two"]})
    assert len(batchgraph_sandbox.creations("openai")) == 1
    sent = run_until_done(fresh, "c", {"requests": ["one", "two"]})

    assert again["report"]["reused"]["cache_hits"] == 2
    assert sent["report"]["reused"]["cache_hits"] == 0
    assert len(batchgraph_sandbox.creations("openai")) == 2
