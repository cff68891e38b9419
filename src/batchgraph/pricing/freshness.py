"""Prices age: say where a job's prices came from, and warn when they may be out of date.

Providers change prices a few times a year, and the built-in table is copied by hand. A job's
report keeps each model's price source and date; `batchgraph cost` shows them and warns when a
price is older than `STALE_AFTER_DAYS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

STALE_AFTER_DAYS = 90


def price_sources(models: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per price source used: "gpt-4o-mini: https://… as of 2026-03-01"."""
    lines = []
    for line in models:
        source = line.get("price_source") or "a price file named by BATCHGRAPH_PRICES"
        as_of = line.get("price_as_of")
        if line.get("batch_usd") is None:
            continue
        when = f" as of {as_of}" if as_of else " (no date given)"
        lines.append(f"{line['model']}: {source}{when}")
    return lines


def stale_price_warnings(models: Iterable[Mapping[str, Any]], today: date) -> list[str]:
    """A warning for each model whose price is older than `STALE_AFTER_DAYS` on `today`."""
    warnings = []
    for line in models:
        as_of = line.get("price_as_of")
        if not as_of:
            continue
        age = (today - date.fromisoformat(as_of)).days
        if age > STALE_AFTER_DAYS:
            source = line.get("price_source") or "its source"
            warnings.append(
                f"the price of {line['model']} is {age} days old (as of {as_of}): check it "
                f"against {source}, or put current prices in a TOML file named by "
                "BATCHGRAPH_PRICES (format: src/batchgraph/pricing/prices.toml)"
            )
    return warnings
