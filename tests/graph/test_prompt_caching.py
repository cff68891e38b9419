"""A long shared system prompt is cached at Anthropic: paid in full once per batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.io import ReadOptions
from batchgraph.model import Usage
from batchgraph.pricing import cost_of
from batchgraph.runner.loop import Backoff, run_job

from .conftest import write_prompts

NO_WAIT = Backoff(initial=0.0, cap=0.0)
SYSTEM = (
    "You label support tickets by the rules below.\n" + "Rule: be precise. " * 450
)  # ~2,000 tokens


def test_a_2000_token_system_prompt_is_read_from_the_cache_by_all_but_the_first_of_each_batch(
    bg: Batchgraph, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 1000)
    options = ReadOptions(model="claude-sonnet-4-5", system=SYSTEM)
    job_id = bg.submit(source, provider="anthropic", options=options, batch_size=250)
    view = run_job(bg, job_id, NO_WAIT)

    records = [json.loads(json.dumps(r)) for r in bg.store.result_records(job_id)]
    cached = [r["cached_tokens"] for r in records]
    system_tokens = -(-len(SYSTEM) // 4)
    assert len(view.chunks) == 4
    assert sorted(set(cached)) == [0, system_tokens]
    assert cached.count(0) == 4  # the first request of each batch writes the cache

    report = bg.report(job_id)
    (line,) = report["models"]
    assert line["cached_tokens"] == 996 * system_tokens
    assert line["cache_write_tokens"] == 4 * system_tokens
    usage = Usage(line["input_tokens"], line["output_tokens"], line["cached_tokens"])
    usage.cache_write_tokens = line["cache_write_tokens"]
    assert report["batch_usd"] == cost_of("anthropic", "claude-sonnet-4-5", usage).batch_usd
    # The four writes cost a quarter more than input: $1.5 a million at batch price, +25%.
    usage.cache_write_tokens = 0
    at_input_price = cost_of("anthropic", "claude-sonnet-4-5", usage).batch_usd
    assert at_input_price is not None
    premium = 4 * system_tokens * 1.5 * 0.25 / 1_000_000
    assert report["batch_usd"] - at_input_price == pytest.approx(premium)
    uncached = Usage(line["input_tokens"], line["output_tokens"], 0)
    full = cost_of("anthropic", "claude-sonnet-4-5", uncached).batch_usd
    assert full is not None and report["batch_usd"] < 0.3 * full


def test_a_short_system_prompt_is_not_marked_and_nothing_is_cached(
    bg: Batchgraph, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 20)
    options = ReadOptions(model="claude-sonnet-4-5", system="Be brief.")
    job_id = bg.submit(source, provider="anthropic", options=options)
    run_job(bg, job_id, NO_WAIT)

    assert {r["cached_tokens"] for r in bg.store.result_records(job_id)} == {0}
