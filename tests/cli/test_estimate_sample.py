"""`--estimate-sample`: a few answers now make the estimate close to what the job costs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchgraph.api import Batchgraph
from batchgraph.cli import app
from batchgraph.estimate import estimate_job
from batchgraph.estimate_sample import draw, run_sample
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.storage import read_creations
from tests.job_shapes import SHAPES, reviews_slice, shapes

MODELS = {
    "sandbox-openai": "gpt-4o-mini",
    "sandbox-anthropic": "claude-haiku-4-5",
    "sandbox-mistral": "mistral-small-latest",
}
runner = CliRunner()


def reviews(tmp_path: Path, count: int) -> Path:
    return reviews_slice(tmp_path, "reviews.csv", 0, count)


@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize("shape", SHAPES)
def test_a_sample_of_50_puts_the_estimate_within_15_percent_of_the_actual_cost(
    home: Path, tmp_path: Path, provider: str, shape: str
) -> None:
    source = reviews(tmp_path, 600)
    options = shapes(MODELS[provider])[shape]

    sample = run_sample(source, provider, options, 50, home)
    estimate = estimate_job(source, provider, options, [], sample)
    with Batchgraph.open() as bg:
        job_id = bg.submit(source, provider=provider, options=options)
        report = run_job(bg, job_id, Backoff(initial=0.1, cap=0.5)).job.report

    assert report is not None and estimate.batch_usd is not None
    assert estimate.method == f"a sample of {sample.answers} answers" and sample.answers == 50
    assert abs(estimate.batch_usd - report["batch_usd"]) <= 0.15 * report["batch_usd"]
    assert sample.sync_usd is not None and sample.sync_usd > 0


def test_the_sample_is_drawn_over_the_whole_input_the_same_way_each_time() -> None:
    first = draw(iter(range(10_000)), 50)  # type: ignore[arg-type]

    assert first == draw(iter(range(10_000)), 50)  # type: ignore[arg-type]
    assert max(first) > 5_000 and min(first) < 5_000


def test_dry_run_with_a_sample_names_it_and_creates_no_batch(home: Path, tmp_path: Path) -> None:
    source = reviews(tmp_path, 100)
    result = runner.invoke(app, ["submit", str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
                                 "--prompt-template", "Mood of: {text}", "--dry-run",
                                 "--estimate-sample", "20"])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "a sample of 20 answers" in result.output and "synchronous price" in result.output
    assert "input tokens: o200k_base tokenizer" in result.output
    assert read_creations(home / "sandbox") == []


def test_a_sample_without_an_estimate_to_improve_is_refused(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["submit", str(reviews(tmp_path, 5)), "-p", "sandbox-openai",
                                 "-m", "gpt-4o-mini", "--prompt-template", "Mood of: {text}",
                                 "--estimate-sample", "20"])  # fmt: skip

    assert result.exit_code == 2
    assert "--dry-run" in result.output
