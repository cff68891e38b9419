"""The estimate's input tokens are what the provider counts: the body the adapter sends
(schema tool, system prompt, per-message tokens included), with the provider's tokenizer or
its counting endpoint, on a sample when the input is large."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.estimate import estimate_job
from batchgraph.io import ReadOptions, validated_requests
from batchgraph.providers import adapter_class
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.tokens import COUNT_SAMPLE, request_tokens
from batchgraph.tokens.tokenizers import load_encoding
from tests.job_shapes import reviews_slice, shapes

MODELS = {
    "sandbox-openai": "gpt-4o-mini",
    "sandbox-anthropic": "claude-haiku-4-5",
    "sandbox-mistral": "mistral-small-latest",
}


def input_tokens_paid(source: Path, provider: str, options: ReadOptions) -> int:
    with Batchgraph.open() as bg:
        job_id = bg.submit(source, provider=provider, options=options)
        report = run_job(bg, job_id, Backoff(initial=0.0, cap=0.0)).job.report
    assert report is not None and report["accounted"]
    return int(report["models"][0]["input_tokens"])


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_with_every_request_counted_the_estimate_is_the_input_the_sandbox_bills(
    home: Path, tmp_path: Path, provider: str
) -> None:
    source = reviews_slice(tmp_path, "in.csv", 0, 15)
    options = shapes(MODELS[provider])["schema labels"]

    estimate = estimate_job(source, provider, options, [], data_dir=home)

    assert estimate.input_tokens == input_tokens_paid(source, provider, options)
    assert "requests counted" not in estimate.input_method  # 15 of 15: no sampling


def test_anthropic_s_count_comes_from_its_endpoint_when_it_can_be_asked(
    home: Path, tmp_path: Path
) -> None:
    source = reviews_slice(tmp_path, "in.csv", 0, 300)
    options = shapes(MODELS["sandbox-anthropic"])["schema labels"]

    asked = estimate_job(source, "sandbox-anthropic", options, [], data_dir=home)
    offline = estimate_job(source, "sandbox-anthropic", options, [])

    assert asked.input_method == "Anthropic's token count, 20 of 300 requests counted"
    assert offline.input_method == "4 characters a token, 200 of 300 requests counted"
    paid = input_tokens_paid(source, "sandbox-anthropic", options)
    assert abs(asked.input_tokens - paid) <= 0.02 * paid
    assert abs(offline.input_tokens - paid) <= 0.02 * paid


def test_without_a_key_anthropic_is_counted_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    source = reviews_slice(tmp_path, "in.csv", 0, 10)

    estimate = estimate_job(source, "anthropic", shapes("claude-haiku-4-5")["schema labels"])

    assert estimate.input_method == "4 characters a token"


def test_the_forced_schema_tool_and_its_prompt_are_counted(tmp_path: Path) -> None:
    source = reviews_slice(tmp_path, "in.csv", 0, 10)
    labels = shapes("claude-haiku-4-5")["schema labels"]
    plain = ReadOptions(model="claude-haiku-4-5", template=labels.template)

    with_tool = estimate_job(source, "anthropic", labels).input_tokens
    without = estimate_job(source, "anthropic", plain).input_tokens

    assert with_tool - without >= 10 * (313 + 100)  # the tool-use prompt and the schema


def test_a_large_input_is_counted_on_a_sample_and_scaled_to_within_2_percent(
    tmp_path: Path,
) -> None:
    source = reviews_slice(tmp_path, "in.csv", 0, 3000)
    options = shapes("gpt-4o-mini")["short free text"]
    adapter = adapter_class("openai")
    every = sum(request_tokens(adapter, r) for r in validated_requests(source, options))

    estimate = estimate_job(source, "openai", options)

    assert (
        estimate.input_method == f"o200k_base tokenizer, {COUNT_SAMPLE} of 3,000 requests counted"
    )
    assert abs(estimate.input_tokens - every) <= 0.02 * every


@pytest.fixture
def no_tokenizer_package(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on an install without `batchgraph[tokenizers]`: `bpe_openai` cannot be imported."""
    monkeypatch.setitem(sys.modules, "bpe_openai", None)
    load_encoding.cache_clear()
    yield
    load_encoding.cache_clear()


@pytest.mark.usefixtures("no_tokenizer_package")
def test_without_the_tokenizer_package_the_estimate_says_how_to_get_it(tmp_path: Path) -> None:
    source = reviews_slice(tmp_path, "in.csv", 0, 10)
    options = shapes("gpt-4o-mini")["short free text"]

    estimate = estimate_job(source, "openai", options)

    assert estimate.input_method == (
        "4 characters a token (pip install 'batchgraph[tokenizers]' to count with the "
        "provider's tokenizer)"
    )
