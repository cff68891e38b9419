"""`--dry-run` and `--max-cost`: the estimate as a table, and the refusal."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from batchgraph.cli.output import usd
from batchgraph.estimate import Estimate, estimate_job, refuse_over
from batchgraph.estimate_reuse import ReuseForecast
from batchgraph.estimate_sample import Sample
from batchgraph.io import ReadOptions
from batchgraph.store.base import JobRecord


def guard_cost(
    path: Path,
    provider: str,
    options: ReadOptions,
    max_cost: float | None,
    *,
    strict: bool = False,
    history: list[JobRecord] | None = None,
    sample: Sample | None = None,
    data_dir: Path | None = None,
    reuse: ReuseForecast | None = None,
) -> Estimate:
    estimate = estimate_job(path, provider, options, history, sample, data_dir, reuse)
    refuse_over(estimate, max_cost, strict=strict)
    return estimate


def estimate_table(estimate: Estimate, title: str = "Dry run: nothing was sent") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("estimate", justify="right")
    table.add_column("up to", justify="right")
    table.add_row("requests", f"{estimate.requests:,}", "")
    if estimate.cache_hits or estimate.repeats:
        table.add_row("sent", f"{estimate.requests - estimate.cache_hits - estimate.repeats:,}", "")
        table.add_row(
            "answered without sending",
            f"{estimate.cache_hits + estimate.repeats:,}",
            "",
        )
    table.add_row("models", ", ".join(estimate.models), "")
    table.add_row("input tokens", f"{estimate.input_tokens:,}", "")
    table.add_row(
        "output tokens", f"{estimate.output_tokens:,}", f"{estimate.output_tokens_high:,}"
    )
    table.add_row("batch price", usd(estimate.batch_usd), usd(estimate.batch_usd_high))
    table.add_row("synchronous price", usd(estimate.sync_usd), "")
    table.caption = (
        f"input tokens: {estimate.input_method}\noutput estimated from: {estimate.method}"
    )
    reused = [f"{estimate.cache_hits:,} from the result cache"] if estimate.cache_hits else []
    if estimate.repeats:
        reused.append(f"{estimate.repeats:,} repeating earlier lines")
    if reused:
        table.caption += f"\nnot sent, not priced: {', '.join(reused)}"
    if estimate.sample_usd is not None:
        table.caption += f" (the sample cost {usd(estimate.sample_usd)}, synchronous price)"
    return table
