"""Running the same command twice pays once: the second run finds the first job."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from batchgraph.api import Batchgraph
from batchgraph.cli import app
from batchgraph.sandbox.storage import read_creations

runner = CliRunner()


def run_reviews(reviews: Path, out: Path, *extra: str) -> str:
    result = runner.invoke(app, ["run", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
                                 "--prompt-template", "Rate: {text}", "-o", str(out),
                                 "--poll-max", "0.1", *extra])  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def test_running_the_same_input_twice_answers_from_the_first_job(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    run_reviews(reviews, tmp_path / "first.jsonl")
    created = len(read_creations(home / "sandbox"))

    output = run_reviews(reviews, tmp_path / "second.jsonl")

    assert "already submitted as job" in output and "pass --new" in output
    assert len(read_creations(home / "sandbox")) == created
    first = (tmp_path / "first.jsonl").read_text().splitlines()
    second = (tmp_path / "second.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in second] == [
        json.loads(line)["text"] for line in first
    ]


def test_submit_twice_prints_the_same_job_id_and_new_makes_another(
    home: Path, reviews: Path
) -> None:
    args = ["submit", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
            "--prompt-template", "Rate: {text}"]  # fmt: skip
    first = runner.invoke(app, args)
    again = runner.invoke(app, args)
    fresh = runner.invoke(app, [*args, "--new"])

    assert first.exit_code == again.exit_code == fresh.exit_code == 0
    first_id = first.stdout.split()[0]
    assert again.stdout.split()[0] == first_id
    assert f"already submitted as job {first_id}" in again.stderr
    assert fresh.stdout.split()[0] != first_id
    with Batchgraph.open() as bg:
        assert len(bg.jobs()) == 2


def test_the_same_input_in_sync_mode_is_another_job(home: Path, reviews: Path) -> None:
    args = ["submit", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
            "--prompt-template", "Rate: {text}"]  # fmt: skip
    batch = runner.invoke(app, args)
    sync = runner.invoke(app, [*args, "--mode", "sync"])
    sync_again = runner.invoke(app, [*args, "--mode", "sync"])

    assert batch.exit_code == sync.exit_code == sync_again.exit_code == 0, sync.output
    assert sync.stdout.split()[0] != batch.stdout.split()[0]
    assert sync_again.stdout.split()[0] == sync.stdout.split()[0]
