"""Prices (sync and batch, per model) and cost arithmetic.

cost_of(provider, model, usage)   Cost(batch_usd, sync_usd), None for an unknown model
total_cost(usages)                CostReport summed by model, with the saving
load_prices(path)                 built-in prices.toml, replaced by BATCHGRAPH_PRICES / path
"""

from batchgraph.pricing.cost import Cost, CostLine, CostReport, cost_of, price_usage, total_cost
from batchgraph.pricing.table import (
    PRICES_ENV,
    ModelPrice,
    PriceTable,
    base_model_name,
    builtin_prices,
    load_prices,
)

__all__ = [
    "PRICES_ENV",
    "Cost",
    "CostLine",
    "CostReport",
    "ModelPrice",
    "PriceTable",
    "base_model_name",
    "builtin_prices",
    "cost_of",
    "load_prices",
    "price_usage",
    "total_cost",
]
