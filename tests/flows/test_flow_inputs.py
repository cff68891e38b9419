"""A flow's input file: every line checked first, then kept in the store and read back from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError
from batchgraph.flows import FlowRunner, create_flow, inputs

from . import review_graph

GRAPH = "tests.flows.review_graph:graph"


def test_a_bad_line_is_named_and_no_flow_is_stored(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text('{"review": "fine"}\n\n{"review": "cut off\n["not", "an object"]\n')

    with Batchgraph.open() as bg:
        with pytest.raises(ConfigError, match=r"line 3: malformed JSON") as refused:
            create_flow(bg, graph=GRAPH, input=source, provider="sandbox-openai")
        assert bg.store.list_flows() == []
    assert str(source) in str(refused.value)

    source.write_text('{"review": "fine"}\n["not", "an object"]\n')
    with Batchgraph.open() as bg, pytest.raises(ConfigError, match=r"line 2: .* an object"):
        create_flow(bg, graph=GRAPH, input=source, provider="sandbox-openai")


def test_a_flow_runs_from_its_stored_copy_after_the_file_is_gone(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "PART_BYTES", 100)  # several parts, split between lines
    source = tmp_path / "reviews.jsonl"
    states = [{"id": f"r{n}", "review": f"Toaster {n} burns the bread."} for n in range(7)]
    source.write_text("\n".join(json.dumps(s) for s in states) + "\n\n")
    with Batchgraph.open() as bg:
        flow_id = create_flow(bg, graph=GRAPH, input=source, provider="sandbox-openai",
                              model="gpt-4o-mini")  # fmt: skip
        assert len(list(bg.store.flow_input(flow_id))) > 1
        source.unlink()
        runner = FlowRunner(bg, flow_id, review_graph.graph)
        while runner.tick().status != "done":
            pass
        records = list(runner.records())

    assert [r["id"] for r in records] == [s["id"] for s in states]
    assert [r["state"]["review"] for r in records] == [s["review"] for s in states]
    assert all(r["status"] == "done" and r["llm_calls"] == 4 for r in records)


def test_a_file_changed_between_the_check_and_the_copy_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text('{"review": "one"}\n')
    count, digest = inputs.check_inputs(source)
    source.write_text('{"review": "one"}\n{"review": "two"}\n')

    assert count == 1
    with pytest.raises(ConfigError, match="changed while it was read"):
        list(inputs.input_parts(source, digest))
