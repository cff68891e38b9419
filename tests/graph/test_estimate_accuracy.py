"""The estimate against what jobs really cost on the sandbox, on three shapes of job."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.estimate import DEFAULT_OUTPUT_TOKENS, estimate_job
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from tests.job_shapes import SHAPES, reviews_slice, shapes

from .conftest import MODELS, PROVIDERS

NO_WAIT = Backoff(initial=0.0, cap=0.0)


@pytest.fixture(autouse=True)
def no_anthropic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The estimate would ask the real Anthropic to count tokens when a key is set; these
    jobs run on the sandbox, so it counts offline, as the sandbox does."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def actual_usd(bg: Batchgraph, source: Path, provider: str, options: ReadOptions) -> float:
    job_id = bg.submit(source, provider=provider, options=options)
    view = run_job(bg, job_id, NO_WAIT)
    report = view.job.report
    assert report is not None and report["accounted"]
    return float(report["batch_usd"])


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("shape", SHAPES)
def test_the_estimate_from_history_is_within_30_percent_of_the_actual_cost(
    provider: str, shape: str, bg: Batchgraph, tmp_path: Path
) -> None:
    options = shapes(MODELS[provider])[shape]
    actual_usd(bg, reviews_slice(tmp_path, "first.csv", 0, 200), provider, options)
    second = reviews_slice(tmp_path, "second.csv", 1000, 200)

    estimate = estimate_job(second, provider, options, bg.jobs())
    cost = actual_usd(bg, second, provider, options)

    assert estimate.method == "history of 1 job"
    assert estimate.batch_usd is not None
    assert abs(estimate.batch_usd - cost) <= 0.30 * cost
    assert estimate.batch_usd_high is not None and estimate.batch_usd_high >= cost


def test_without_history_a_schema_job_is_estimated_from_the_schema(
    bg: Batchgraph, tmp_path: Path
) -> None:
    options = shapes(MODELS["openai"])["schema labels"]
    source = reviews_slice(tmp_path, "in.csv", 0, 200)

    estimate = estimate_job(source, "openai", options, bg.jobs())
    cost = actual_usd(bg, source, "openai", options)

    assert estimate.method == "JSON schema"
    assert estimate.batch_usd is not None
    assert abs(estimate.batch_usd - cost) <= 0.30 * cost


def test_without_history_or_schema_the_default_is_named(bg: Batchgraph, tmp_path: Path) -> None:
    options = shapes(MODELS["openai"])["short free text"]
    source = reviews_slice(tmp_path, "in.csv", 0, 20)

    estimate = estimate_job(source, "openai", options, [])

    assert estimate.method == f"default of {DEFAULT_OUTPUT_TOKENS} tokens per answer"
    assert estimate.output_tokens == 20 * DEFAULT_OUTPUT_TOKENS
    assert estimate.output_tokens_high == 4 * 20 * DEFAULT_OUTPUT_TOKENS
