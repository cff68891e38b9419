"""`batchgraph flow`: a user's graph file over a JSONL of states, as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchgraph.cli import app
from batchgraph.cli.views import graph_name

runner = CliRunner()
GRAPH = Path(__file__).with_name("review_graph.py")


def test_flow_run_writes_one_record_per_input_and_submit_collect_results_agree(
    home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"r{n}", "review": f"Pan {n} warps."}) + "\n"
                              for n in range(6)))  # fmt: skip
    out = tmp_path / "out.jsonl"

    ran = runner.invoke(app, ["flow", "run", f"{GRAPH}:graph", str(source),
                              "-p", "sandbox-openai", "-m", "gpt-4o-mini", "-o", str(out),
                              "--poll-max", "0.1"])  # fmt: skip

    assert ran.exit_code == 0, ran.output
    assert "6 threads (6 done) in 3 waves" in ran.stdout
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [f"r{n}" for n in range(6)]
    assert all(r["status"] == "done" and r["llm_calls"] == 4 for r in records)
    assert all(set(r["state"]) == {"review", "facts", "label", "notes"} for r in records)

    submitted = runner.invoke(app, ["flow", "submit", f"{GRAPH}:graph", str(source),
                                    "-p", "sandbox-openai", "-m", "gpt-4o-mini"])  # fmt: skip
    flow_id = submitted.stdout.split()[0]
    for _ in range(20):
        collected = runner.invoke(app, ["flow", "collect", flow_id])
        assert collected.exit_code == 0, collected.output
        if "done" in collected.stdout:
            break
    listed = runner.invoke(app, ["flow", "results", flow_id])
    again = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["state"] for r in again] == [r["state"] for r in records]


def test_a_graph_reference_without_an_attribute_is_refused_with_the_form(
    home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"review": "x"}\n')

    result = runner.invoke(
        app, ["flow", "run", "review_graph", str(source), "-p", "sandbox-openai"]
    )

    assert result.exit_code == 2
    assert "module:attribute" in result.output


def _flow_report(output: str) -> dict[str, object]:
    from batchgraph.api import Batchgraph

    flow_id = output.split("flow ", 1)[1].split(":", 1)[0]
    with Batchgraph.open() as bg:
        report = bg.store.get_flow(flow_id).report
    assert report is not None
    return report


def test_a_second_flow_over_the_same_inputs_is_answered_from_the_cache_unless_no_cache(
    home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"review": f"Kettle {n} leaks."}) + "\n"
                              for n in range(3)))  # fmt: skip
    run = ["flow", "run", f"{GRAPH}:graph", str(source), "-p", "sandbox-openai",
           "-m", "gpt-4o-mini", "--poll-max", "0.1"]  # fmt: skip

    first = runner.invoke(app, run)
    again = runner.invoke(app, run)
    fresh = runner.invoke(app, [*run, "--no-cache"])

    assert first.exit_code == again.exit_code == fresh.exit_code == 0, fresh.output
    paid = _flow_report(first.stdout)
    assert paid["reused_calls"] == 0 and float(paid["batch_usd"]) > 0  # type: ignore[arg-type]
    cached = _flow_report(again.stdout)
    assert cached["reused_calls"] == 12 and cached["batch_usd"] == 0
    assert cached["reused_usd"] == pytest.approx(paid["batch_usd"])
    assert "12 model calls answered without sending" in again.stdout
    sent = _flow_report(fresh.stdout)
    assert sent["reused_calls"] == 0
    assert sent["batch_usd"] == pytest.approx(paid["batch_usd"])
    assert "without sending" not in fresh.stdout


def test_flow_list_shows_the_flows_and_reading_a_missing_flow_creates_no_store(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATCHGRAPH_HOME")  # the store in the current directory, as by default
    empty = runner.invoke(app, ["flow", "list"])
    missing = runner.invoke(app, ["flow", "status", "abc123"])
    assert not (tmp_path / ".batchgraph").exists()
    source = tmp_path / "in.jsonl"
    source.write_text('{"review": "Fine pan."}\n')
    submitted = runner.invoke(app, ["flow", "submit", f"{GRAPH}:graph", str(source),
                                    "-p", "sandbox-openai", "-m", "gpt-4o-mini"])  # fmt: skip
    flow_id = submitted.stdout.split()[0]

    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal (where it is honoured)
    listed = runner.invoke(app, ["flow", "list"])
    as_json = runner.invoke(app, ["flow", "list", "--json"])
    unknown = runner.invoke(app, ["flow", "results", "abc123"])

    assert "no flows: there is no database" in empty.stdout and "flow submit" in empty.stdout
    assert missing.exit_code == 2
    assert "no flow 'abc123'" in missing.output and "batchgraph flow list" in missing.output
    assert flow_id in listed.stdout  # whole, however narrow the table (the id never wraps)
    (flow,) = json.loads(as_json.stdout)
    assert flow["id"] == flow_id and flow["spec"]["graph"] == f"{GRAPH}:graph"
    assert graph_name(flow["spec"]["graph"]) == "review_graph.py:graph"
    assert unknown.exit_code == 2 and "no flow 'abc123' in .batchgraph" in unknown.output
