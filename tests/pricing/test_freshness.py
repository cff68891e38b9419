"""Where a job's prices came from, and the warning when they are old."""

from __future__ import annotations

from datetime import date

from batchgraph.pricing.freshness import price_sources, stale_price_warnings

LINES = [
    {
        "model": "gpt-4o-mini",
        "batch_usd": 0.1,
        "price_source": "https://example.test/p",
        "price_as_of": "2026-03-01",
    },
    {"model": "mine", "batch_usd": 0.2, "price_source": None, "price_as_of": None},
    {"model": "unknown", "batch_usd": None, "price_source": None, "price_as_of": None},
]


def test_each_priced_model_names_its_source_and_date() -> None:
    assert price_sources(LINES) == [
        "gpt-4o-mini: https://example.test/p as of 2026-03-01",
        "mine: a price file named by BATCHGRAPH_PRICES (no date given)",
    ]


def test_a_price_older_than_90_days_is_warned_about_and_a_newer_one_is_not() -> None:
    assert stale_price_warnings(LINES, date(2026, 5, 30)) == []  # 90 days
    warnings = stale_price_warnings(LINES, date(2026, 5, 31))
    assert len(warnings) == 1
    assert "gpt-4o-mini is 91 days old" in warnings[0]
    assert "BATCHGRAPH_PRICES" in warnings[0]
