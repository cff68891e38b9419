"""Cost arithmetic: batch and sync dollars, cached tokens, sums by model, unknown models."""

from __future__ import annotations

import pytest

from batchgraph.model import Usage
from batchgraph.pricing import ModelPrice, PriceTable, cost_of, price_usage, total_cost

PRICE = ModelPrice(
    provider="openai",
    model="m",
    input=2.0,
    output=8.0,
    batch_input=1.0,
    batch_output=4.0,
    cached_input=0.5,
)
TABLE = PriceTable({("openai", "m"): PRICE})


def test_a_million_tokens_each_way_cost_the_listed_prices() -> None:
    cost = price_usage(PRICE, Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    assert cost.sync_usd == pytest.approx(10.0)
    assert cost.batch_usd == pytest.approx(5.0)
    assert cost.saving_usd == pytest.approx(5.0)


def test_cached_tokens_are_part_of_input_and_get_the_cached_price() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=0, cached_tokens=400_000)
    cost = price_usage(PRICE, usage)
    assert cost.sync_usd == pytest.approx(0.6 * 2.0 + 0.4 * 0.5)
    # No batch cached price: cached tokens at the batch input price, never understated.
    assert cost.batch_usd == pytest.approx(1.0)


def test_cache_writes_are_part_of_input_and_get_the_cache_write_price() -> None:
    price = ModelPrice(
        "anthropic", "m", 3.0, 15.0, 1.5, 7.5, 0.3, 0.15, cache_write_input=3.75,
        batch_cache_write_input=1.875,
    )  # fmt: skip
    usage = Usage(input_tokens=1_000_000, cached_tokens=500_000, cache_write_tokens=100_000)

    cost = price_usage(price, usage)

    assert cost.sync_usd == pytest.approx(0.4 * 3.0 + 0.5 * 0.3 + 0.1 * 3.75)
    assert cost.batch_usd == pytest.approx(0.4 * 1.5 + 0.5 * 0.15 + 0.1 * 1.875)


def test_without_a_cache_write_price_writes_cost_the_input_price() -> None:
    usage = Usage(input_tokens=1_000_000, cache_write_tokens=1_000_000)
    assert price_usage(PRICE, usage).batch_usd == pytest.approx(1.0)


def test_the_built_in_anthropic_prices_charge_cache_writes_a_quarter_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BATCHGRAPH_PRICES", raising=False)
    written = cost_of(
        "anthropic", "claude-haiku-4-5", Usage(1_000_000, cache_write_tokens=1_000_000)
    )
    plain = cost_of("anthropic", "claude-haiku-4-5", Usage(1_000_000))
    assert written.batch_usd == pytest.approx(1.25 * (plain.batch_usd or 0))
    assert written.sync_usd == pytest.approx(1.25 * (plain.sync_usd or 0))


def test_cost_of_matches_dated_model_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATCHGRAPH_PRICES", raising=False)
    cost = cost_of("openai", "gpt-4o-mini-2024-07-18", Usage(2_000_000, 1_000_000))
    assert cost.sync_usd == pytest.approx(2 * 0.15 + 0.60)
    assert cost.batch_usd == pytest.approx(2 * 0.075 + 0.30)
    assert cost.note is None


def test_an_unknown_model_costs_none_with_a_note() -> None:
    cost = cost_of("openai", "gpt-99", Usage(1000, 1000), TABLE)
    assert (cost.batch_usd, cost.sync_usd, cost.saving_usd) == (None, None, None)
    assert cost.note is not None
    assert "no price for openai model 'gpt-99'" in cost.note
    assert "BATCHGRAPH_PRICES" in cost.note


def test_usages_are_summed_by_model_before_pricing() -> None:
    report = total_cost(
        [
            ("openai", "m", Usage(500_000, 250_000)),
            ("openai", "m", Usage(500_000, 750_000)),
        ],
        TABLE,
    )
    [line] = report.lines
    assert line.usage == Usage(1_000_000, 1_000_000)
    assert report.batch_usd == pytest.approx(5.0)
    assert report.sync_usd == pytest.approx(10.0)
    assert report.saving_usd == pytest.approx(5.0)
    assert report.notes == []


def test_a_total_with_an_unpriced_model_is_none_and_says_why() -> None:
    report = total_cost(
        [("openai", "m", Usage(1_000_000, 0)), ("openai", "mystery", Usage(10, 10))], TABLE
    )
    assert report.batch_usd is None
    assert report.saving_usd is None
    assert report.priced_batch_usd == pytest.approx(1.0)
    assert len(report.notes) == 1 and "mystery" in report.notes[0]
