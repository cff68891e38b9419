"""What the graphs show and accept: only edges that can be taken, and checked job options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError
from batchgraph.graph.build import build_graph
from batchgraph.langgraph import batch_subgraph, job_graph
from batchgraph.langgraph.spec import job_key, resolve_spec, write_inline


def edges(graph: Any) -> set[tuple[str, str]]:
    return {(edge.source, edge.target) for edge in graph.get_graph().edges}


def test_job_graph_draws_only_edges_its_routes_can_take(bg: Batchgraph) -> None:
    drawn = edges(build_graph(bg.deps).compile())

    assert drawn == {
        ("__start__", "plan"), ("__start__", "submit_chunk"), ("__start__", "collect_chunk"),
        ("__start__", "settle"), ("__start__", "__end__"), ("__start__", "run_sync"),
        ("plan", "submit_chunk"), ("plan", "collect_chunk"), ("plan", "settle"),
        ("plan", "__end__"), ("plan", "run_sync"), ("submit_chunk", "__end__"),
        ("collect_chunk", "settle"), ("run_sync", "settle"), ("run_sync", "__end__"),
        ("settle", "plan"), ("settle", "report"), ("settle", "__end__"), ("report", "__end__"),
        ("__start__", "hedge"), ("plan", "hedge"), ("hedge", "run_sync"), ("hedge", "settle"),
        ("hedge", "__end__"),
    }  # fmt: skip


def test_batch_component_draws_prepare_approve_create_tick_wait_finish(bg: Batchgraph) -> None:
    for graph in (job_graph(bg), batch_subgraph(bg)):
        assert edges(graph) == {
            ("__start__", "prepare"), ("__start__", "tick"), ("prepare", "approve"),
            ("approve", "create"), ("approve", "__end__"), ("create", "tick"),
            ("tick", "finish"), ("tick", "wait"), ("wait", "tick"), ("finish", "__end__"),
        }  # fmt: skip


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"requests": ["hi"], "provider": "openai", "temperature": 0.2},
         "new_job.temperature is a reader option — put it under new_job.read"),
        ({"requests": ["hi"], "provider": "openai", "read": {"provider": "openai"}},
         "new_job.read.provider is a job setting — put it in new_job itself"),
        ({"requests": ["hi"], "provider": "openai", "batchsize": 10},
         "unknown key 'batchsize' — did you mean 'batch_size'?"),
        ({"requests": ["hi"], "input": "a.jsonl", "provider": "openai"},
         "give either requests"),
        ({"requests": ["hi"]}, "new_job.provider is missing"),
        ({"requests": ["hi"], "provider": "openai", "max_attempts": 0},
         "new_job.max_attempts must be a whole number of at least 1, not 0"),
        ({"requests": [3], "provider": "openai"}, "new_job.requests[0] is a int"),
        ({"requests": ["hi"], "provider": "openai", "model": "a", "read": {"model": "b"}},
         "give the model once"),
    ],
)  # fmt: skip
def test_job_options_are_refused_saying_where_they_belong(
    given: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        resolve_spec({}, given)

    assert message in str(refused.value)


def test_options_given_at_run_time_override_the_subgraphs_defaults() -> None:
    spec = resolve_spec(
        {"provider": "openai", "model": "gpt-4o-mini", "read": {"system": "Be brief."}},
        {"requests": ["hi", {"id": "b", "prompt": "yo"}], "model": "gpt-4.1"},
        "input",
    )

    assert spec.provider == "openai"
    assert spec.read.model == "gpt-4.1" and spec.read.system == "Be brief."
    assert spec.requests == [{"id": "0", "prompt": "hi"}, {"id": "b", "prompt": "yo"}]


def test_the_same_requests_in_the_same_place_are_the_same_job(tmp_path: Path) -> None:
    spec = resolve_spec({}, {"requests": ["hi", "yo"], "provider": "openai", "model": "m"})
    assert spec.requests is not None
    path = write_inline(spec.requests, tmp_path)
    again = write_inline(spec.requests, tmp_path)
    other = write_inline([*spec.requests, {"id": "2", "prompt": "more"}], tmp_path)

    key = job_key(("thread-1", "batch"), spec.settings, path, inline=True)

    assert again == path
    assert job_key(("thread-1", "batch"), spec.settings, again, inline=True) == key
    assert job_key(("thread-2", "batch"), spec.settings, path, inline=True) != key
    assert job_key(("thread-1", "batch"), spec.settings, other, inline=True) != key
