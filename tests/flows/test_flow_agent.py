"""An agent with tools as a flow: each turn of every thread's loop is one wave of batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from . import agent_graph
from .running import MODELS, run_to_end


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("provider", sorted(MODELS))
def test_a_react_agent_calls_its_tool_and_answers_in_every_thread(
    home: Path, tmp_path: Path, provider: str
) -> None:
    source = tmp_path / "questions.jsonl"
    questions = [f"How many kettles of model {n} are in stock?" for n in range(12)]
    source.write_text("".join(json.dumps({"messages": [["user", q]]}) + "\n" for q in questions))
    flow, finals = run_to_end(
        "tests.flows.agent_graph:graph", agent_graph.graph, source, provider, len(questions)
    )

    assert flow.report is not None and flow.report["counts"] == {"done": 12}
    assert flow.report["waves"] == 2  # the tool call, then the answer after the tool's result
    for state in finals:
        kinds = [type(m) for m in state["messages"]]
        assert kinds[1:] == [AIMessage, ToolMessage, AIMessage]
        assert state["messages"][1].tool_calls[0]["name"] == "stock_level"
        assert state["messages"][-1].content
