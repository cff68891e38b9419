"""A user's graph over many inputs: every model call goes through batches, wave by wave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.flows import FlowRunner, create_flow
from batchgraph.langchain import BatchChatModel
from batchgraph.sandbox.storage import read_creations

from . import review_graph
from .running import MODELS


def review(n: int) -> str:
    return f"Kettle number {n} leaks but boils fast."


def write_reviews(path: Path, count: int) -> Path:
    lines = [
        json.dumps({"review": f"Kettle number {n} leaks but boils fast."}) for n in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_flow(bg: Batchgraph, flow_id: str) -> int:
    runner = FlowRunner(bg, flow_id, review_graph.graph)
    ticks = 0
    while runner.tick().status != "done":
        ticks += 1
        assert ticks < 50, "the flow should end in a few waves"
    return ticks


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_a_three_wave_graph_ends_every_thread_as_a_plain_run_would(
    home: Path, tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_reviews(tmp_path / "reviews.jsonl", 40)
    with Batchgraph.open() as bg:
        flow_id = create_flow(
            bg, graph="tests.flows.review_graph:graph", input=source,
            provider=provider, model=MODELS[provider],
        )  # fmt: skip
        run_flow(bg, flow_id)
        flow = bg.store.get_flow(flow_id)
        runner = FlowRunner(bg, flow_id, review_graph.graph)
        finals = [runner.final_state(n) for n in range(40)]

    assert flow.report is not None
    assert flow.report["counts"] == {"done": 40}
    assert flow.report["waves"] == 3
    assert len(read_creations(home / "sandbox")) == 3  # one batch per wave: all threads share it
    assert all(set(state) == {"review", "facts", "label", "notes"} for state in finals)

    # The same graph run as an ordinary LangGraph run, each call answered at once.
    plain = review_graph.builder.compile()
    monkeypatch.setattr(
        review_graph, "model", BatchChatModel(provider=provider, model=MODELS[provider])
    )
    for n in (0, 17):
        expected = plain.invoke({"review": f"Kettle number {n} leaks but boils fast."})
        assert finals[n]["facts"] == expected["facts"]
        assert finals[n]["label"] == expected["label"]
        assert sorted(finals[n]["notes"]) == sorted(expected["notes"])
