"""`make demo`, end to end on a short slice of its data: every part runs, as a user's
`make demo` would, and says what it should (the full 3,000 reviews are for people, not CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph import demo
from batchgraph.api import Batchgraph

ROWS = 40


@pytest.mark.slow
def test_the_demo_runs_every_part_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "demo-output"
    demo.main(workdir, rows=ROWS)
    printed = capsys.readouterr().out

    for provider in demo.MODELS:
        results = workdir / f"results-{provider.removeprefix('sandbox-')}.jsonl"
        records = [json.loads(line) for line in results.read_text().splitlines()]
        assert len(records) == ROWS, provider
        assert {r["result_status"] for r in records} == {"succeeded"}, provider
    assert "First answers from" in printed and "R00001: {" in printed

    flow = (workdir / "flow-results.jsonl").read_text().splitlines()
    assert len(flow) == ROWS and all(json.loads(line)["status"] == "done" for line in flow)

    home = workdir / ".batchgraph"
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        [deadline_job] = [job for job in bg.jobs() if job.name == "reviews-deadline"]
        report = bg.report(deadline_job.id)
    split = report["execution"]
    assert report["accounted"] and report["total"] == ROWS
    assert split["hedge_requests"] > 0, "the straggling batch was finished by the hedge"
    assert split["batch_requests"] + split["hedge_requests"] == ROWS
