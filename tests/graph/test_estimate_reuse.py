"""The estimate prices what a job will send: the result cache's answers and a file's repeats
are foreseen exactly as the job then reuses them, and cost nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.estimate import estimate_job
from batchgraph.estimate_reuse import PAGE, ReuseForecast
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle

NO_WAIT = Backoff(initial=0.0, cap=0.0)
OPTIONS = ReadOptions(model="gpt-4o-mini")


def write(path: Path, prompts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"r{n}", "prompt": p}) + "\n"
                            for n, p in enumerate(prompts)))  # fmt: skip
    return path


def sent_requests(sandbox: SandboxHandle) -> int:
    return sum(c.request_count for c in sandbox.creations())


def test_the_forecast_matches_what_the_job_then_reuses_and_prices_only_what_it_sends(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    answered = [f"Is {n} prime?" for n in range(30)]
    run_job(bg, bg.submit(write(tmp_path / "first.jsonl", answered), provider="openai",
                          options=OPTIONS), NO_WAIT)  # fmt: skip
    new = [f"Is {n} square?" for n in range(20)]
    # The answered prompts, the new ones, and ten of the new ones again.
    second = write(tmp_path / "second.jsonl", [*answered, *new, *new[:10]])

    whole = estimate_job(second, "openai", OPTIONS)
    forecast = estimate_job(second, "openai", OPTIONS, reuse=ReuseForecast(bg.store, "openai"))
    before = sent_requests(batchgraph_sandbox)
    job = bg.submit(second, provider="openai", options=OPTIONS)
    run_job(bg, job, NO_WAIT)

    reused = bg.report(job)["reused"]
    assert (forecast.cache_hits, forecast.repeats) == (30, 10)
    assert (reused["cache_hits"], reused["duplicates"]) == (30, 10)
    assert sent_requests(batchgraph_sandbox) - before == 20
    assert whole.cache_hits == whole.repeats == 0 and whole.requests == forecast.requests == 60
    assert whole.batch_usd is not None and forecast.batch_usd is not None
    assert forecast.batch_usd == pytest.approx(whole.batch_usd * 20 / 60)
    assert forecast.input_tokens == round(whole.input_tokens * 20 / 60)


def test_a_file_answered_whole_is_estimated_at_nothing(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    # More than a page of requests, so the cache is asked more than once.
    source = write(tmp_path / "in.jsonl", [f"Name the colour number {n}." for n in range(PAGE + 5)])
    run_job(bg, bg.submit(source, provider="openai", options=OPTIONS), NO_WAIT)

    again = estimate_job(source, "openai", OPTIONS, reuse=ReuseForecast(bg.store, "openai"))
    other_model = estimate_job(source, "openai", ReadOptions(model="gpt-4o"),
                               reuse=ReuseForecast(bg.store, "openai"))  # fmt: skip

    assert again.cache_hits == PAGE + 5 and again.batch_usd == 0 and again.input_tokens == 0
    assert other_model.cache_hits == 0 and other_model.batch_usd  # another model, another request
