"""Cost arithmetic: what tokens cost through the Batch API and what they would cost without it.

A model the price table does not know costs None, with a note, never a guessed number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from batchgraph.model import Usage
from batchgraph.pricing.table import ModelPrice, PriceTable, load_prices

PER_MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class Cost:
    """Dollars through the Batch API and at the synchronous price; None when unknown."""

    batch_usd: float | None
    sync_usd: float | None
    note: str | None = None
    source: str | None = None
    """Where the price came from (a pricing page, or the user's price file)."""
    as_of: date | None = None
    """When the price was copied from `source`."""

    @property
    def saving_usd(self) -> float | None:
        if self.batch_usd is None or self.sync_usd is None:
            return None
        return self.sync_usd - self.batch_usd


def price_usage(price: ModelPrice, usage: Usage) -> Cost:
    """Cached reads and cache writes are part of `input_tokens`; each gets its own price where
    the table has one (reads: a tenth of input at Anthropic; writes: 1.25×), else input's."""
    cached = min(usage.cached_tokens, usage.input_tokens)
    written = min(usage.cache_write_tokens, usage.input_tokens - cached)
    fresh = usage.input_tokens - cached - written

    def dollars(
        per_input: float, per_cached: float | None, per_write: float | None, per_output: float
    ) -> float:
        cached_rate = per_input if per_cached is None else per_cached
        write_rate = per_input if per_write is None else per_write
        total = (
            fresh * per_input
            + cached * cached_rate
            + written * write_rate
            + usage.output_tokens * per_output
        )
        return total / PER_MILLION

    return Cost(
        batch_usd=dollars(
            price.batch_input,
            price.batch_cached_input,
            price.batch_cache_write_input,
            price.batch_output,
        ),
        sync_usd=dollars(price.input, price.cached_input, price.cache_write_input, price.output),
        source=price.source,
        as_of=price.as_of,
    )


def cost_of(provider: str, model: str, usage: Usage, prices: PriceTable | None = None) -> Cost:
    """What `usage` of `model` costs; `prices` defaults to `load_prices()`."""
    table = prices if prices is not None else load_prices()
    price = table.lookup(provider, model)
    if price is None:
        note = (
            f"no price for {provider} model {model!r} — add it to a price file "
            "named by BATCHGRAPH_PRICES"
        )
        return Cost(None, None, note)
    return price_usage(price, usage)


@dataclass(frozen=True, slots=True)
class CostLine:
    provider: str
    model: str
    usage: Usage
    cost: Cost


@dataclass(frozen=True, slots=True)
class CostReport:
    """Costs per model and in total; totals are None when any model has no price."""

    lines: tuple[CostLine, ...]

    def _total(self, values: Iterable[float | None]) -> float | None:
        known = list(values)
        return None if any(value is None for value in known) else sum(v or 0.0 for v in known)

    @property
    def batch_usd(self) -> float | None:
        return self._total(line.cost.batch_usd for line in self.lines)

    @property
    def sync_usd(self) -> float | None:
        return self._total(line.cost.sync_usd for line in self.lines)

    @property
    def saving_usd(self) -> float | None:
        batch, sync = self.batch_usd, self.sync_usd
        return None if batch is None or sync is None else sync - batch

    @property
    def priced_batch_usd(self) -> float:
        """The sum over the models that have a price (a lower bound when some do not)."""
        return sum(line.cost.batch_usd or 0.0 for line in self.lines)

    @property
    def notes(self) -> list[str]:
        return [line.cost.note for line in self.lines if line.cost.note]


def total_cost(
    usages: Iterable[tuple[str, str, Usage]], prices: PriceTable | None = None
) -> CostReport:
    """Sum (provider, model, usage) triples by model, then price each model once."""
    table = prices if prices is not None else load_prices()
    summed: dict[tuple[str, str], Usage] = {}
    for provider, model, usage in usages:
        key = (provider, model)
        summed[key] = summed.get(key, Usage()) + usage
    lines = tuple(
        CostLine(provider, model, usage, cost_of(provider, model, usage, table))
        for (provider, model), usage in summed.items()
    )
    return CostReport(lines)
