"""`--dry-run` and `--max-cost`: the estimate as a table, and the refusal."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from batchgraph.cli.output import usd
from batchgraph.estimate import Estimate, estimate_job, refuse_over
from batchgraph.io import ReadOptions


def guard_cost(path: Path, provider: str, options: ReadOptions, max_cost: float | None) -> Estimate:
    estimate = estimate_job(path, provider, options)
    refuse_over(estimate, max_cost)
    return estimate


def estimate_table(estimate: Estimate) -> Table:
    table = Table(title="Dry run: nothing was sent", title_justify="left")
    table.add_column("")
    table.add_column("estimate", justify="right")
    table.add_row("requests", f"{estimate.requests:,}")
    table.add_row("models", ", ".join(estimate.models))
    table.add_row("input tokens", f"{estimate.input_tokens:,}")
    table.add_row("output tokens (upper bound)", f"{estimate.output_tokens:,}")
    table.add_row("batch price", usd(estimate.batch_usd))
    table.add_row("synchronous price", usd(estimate.sync_usd))
    return table
