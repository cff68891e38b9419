"""The issue's done-when test, at full size: 2,000 threads of a graph with every shape of call.

Two model steps in a row, a `Send` fan-out of two calls, and a tool-calling agent loop
(`full_graph`), over 2,000 inputs on each sandbox provider. Every thread must end with the final
state the same graph reaches run synchronously (each call answered at once by the provider's
synchronous API), and the provider batches created must number the waves: all 2,000 threads
share each wave's batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from batchgraph.langchain import BatchChatModel
from batchgraph.sandbox.storage import read_creations

from . import full_graph
from .running import MODELS, run_to_end

THREADS = 2_000
# Gemini is not among the providers: its batches take no tools, so the agent loop cannot run
# there (its job is refused before anything is sent: "field tools cannot go to Gemini").


def initial(n: int) -> dict[str, Any]:
    return {"id": f"r{n}", "review": f"Kettle number {n} leaks but boils fast."}


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A final state without what differs between a batch and a synchronous call by design:
    message ids and the batch named in each answer's metadata."""
    out = dict(state)
    out["notes"] = sorted(state["notes"])
    out["messages"] = [_message(m) for m in state["messages"]]
    return out


def _message(message: BaseMessage) -> tuple[Any, ...]:
    calls = [(c["name"], c["args"], c["id"]) for c in getattr(message, "tool_calls", [])]
    usage = getattr(message, "usage_metadata", None)
    return (message.type, message.content, calls, usage)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("provider", sorted(MODELS))
def test_two_thousand_threads_end_as_the_same_graph_run_synchronously(
    home: Path, tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps(initial(n)) + "\n" for n in range(THREADS)))
    flow, finals = run_to_end(
        "tests.flows.full_graph:graph", full_graph.graph, source, provider, THREADS
    )
    batches = len(read_creations(home / "sandbox"))

    monkeypatch.setattr(
        full_graph, "model", BatchChatModel(provider=provider, model=MODELS[provider])
    )
    plain = full_graph.builder.compile()
    expected = [plain.invoke(initial(n)) for n in range(THREADS)]

    assert flow.report is not None
    assert flow.report["counts"] == {"done": THREADS}
    assert flow.report["waves"] == full_graph.WAVES
    assert batches == full_graph.WAVES  # one batch per wave, shared by every thread
    assert [comparable(s) for s in finals] == [comparable(s) for s in expected]
    assert all(len(s["messages"]) == 4 and s["messages"][2].type == "tool" for s in finals)
