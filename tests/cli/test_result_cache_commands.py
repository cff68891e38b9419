"""The result cache as a user meets it: `run` of the same requests in a new job pays nothing and
says so, `--no-cache` sends again, `cache prune` forgets old answers."""

from __future__ import annotations

import json
from pathlib import Path

from batchgraph.cli import app
from batchgraph.sandbox.storage import read_creations

from .test_resubmit import run_reviews, runner


def sent(home: Path) -> int:
    return sum(c.request_count for c in read_creations(home / "sandbox"))


def test_a_new_job_over_answered_requests_pays_nothing_and_says_what_it_saved(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    run_reviews(reviews, tmp_path / "first.jsonl")
    assert sent(home) == 3

    output = run_reviews(reviews, tmp_path / "second.jsonl", "--new")

    assert sent(home) == 3
    assert "cost $0" in output
    assert "3 answered without sending (3 from the result cache): saved $" in output
    first = (tmp_path / "first.jsonl").read_text().splitlines()
    second = (tmp_path / "second.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in second] == [
        json.loads(line)["text"] for line in first
    ]
    job = next(line for line in output.splitlines() if "job " in line).split("job ")[1].split()[0]
    status = runner.invoke(app, ["status", job])
    cost = runner.invoke(app, ["cost", job])
    assert "3 from the result cache" in status.output
    assert "3 from the result cache" in cost.output


def test_no_cache_sends_every_request_again(home: Path, reviews: Path, tmp_path: Path) -> None:
    run_reviews(reviews, tmp_path / "first.jsonl")

    output = run_reviews(reviews, tmp_path / "fresh.jsonl", "--no-cache")

    assert "already submitted" not in output
    assert "without sending" not in output
    assert sent(home) == 6


def test_cache_prune_forgets_answers_older_than_the_duration(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    run_reviews(reviews, tmp_path / "first.jsonl")

    kept = runner.invoke(app, ["cache", "prune", "--older-than", "30d"])
    pruned = runner.invoke(app, ["cache", "prune", "--older-than", "0s"])
    run_reviews(reviews, tmp_path / "again.jsonl", "--new")

    assert kept.exit_code == 0 and "forgot 0 cached answers older than 30d; 3 remain" in kept.output
    assert pruned.exit_code == 0 and "forgot 3 cached answers" in pruned.output
    assert sent(home) == 6


def test_cache_prune_refuses_a_duration_it_cannot_read(home: Path) -> None:
    result = runner.invoke(app, ["cache", "prune", "--older-than", "a month"])

    assert result.exit_code != 0
    assert "--older-than 'a month' is not a duration" in result.output
    assert "e.g. 30d, 12h, 90m or 45s" in result.output


def test_cache_prune_help_says_what_stays(home: Path) -> None:
    result = runner.invoke(app, ["cache", "prune", "--help"])

    assert result.exit_code == 0
    assert "--older-than" in result.output and "Jobs and their results stay" in result.output


def test_a_dry_run_prices_only_what_the_cache_does_not_answer(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    dry_run = ["submit", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
               "--prompt-template", "Rate: {text}", "--dry-run"]  # fmt: skip
    before = runner.invoke(app, dry_run, terminal_width=200)
    run_reviews(reviews, tmp_path / "first.jsonl")

    after = runner.invoke(app, dry_run, terminal_width=200)
    fresh = runner.invoke(app, [*dry_run, "--no-cache"], terminal_width=200)

    assert before.exit_code == after.exit_code == fresh.exit_code == 0, after.output
    shown = " ".join(after.output.split())  # the table's cells and caption, unwrapped
    assert "answered without sending" not in before.output
    assert "answered without sending │ 3 │" in shown and "sent │ 0 │" in shown
    assert "not sent, not priced: 3 from the result cache" in shown
    assert "batch price │ $0.0000 │ $0.0000" in shown
    # --no-cache: every request priced again (answer lengths now come from the first job)
    assert "answered without sending" not in fresh.output
    assert "batch price │ $0.0000 │ $0.0000" not in " ".join(fresh.output.split())
