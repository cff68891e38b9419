"""What a job will cost before it is sent: tokens estimated from the input, priced per model.

Output length is unknown before the answers exist; the estimate assumes each answer uses its
`max_tokens` (an upper bound) or, without one, `ASSUMED_OUTPUT_TOKENS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from batchgraph.errors import CostLimitExceeded
from batchgraph.io import ReadOptions
from batchgraph.jobs import check_input
from batchgraph.model import Usage
from batchgraph.pricing import price_usage

ASSUMED_OUTPUT_TOKENS = 200


@dataclass(frozen=True, slots=True)
class Estimate:
    requests: int
    input_tokens: int
    output_tokens: int
    batch_usd: float | None
    sync_usd: float | None
    models: tuple[str, ...]


def estimate_job(path: Path, provider: str, options: ReadOptions) -> Estimate:
    """Validate the input (every line) and price its estimated tokens; nothing is sent."""
    summary = check_input(path, provider, options)
    per_answer = options.max_tokens or ASSUMED_OUTPUT_TOKENS
    output_tokens = 0 if summary.embeddings == summary.count else per_answer * summary.count
    models = tuple(sorted(summary.models))
    batch: float | None = 0.0
    sync: float | None = 0.0
    for model in models:
        share = summary.models[model] / max(summary.count, 1)
        usage = Usage(int(summary.input_tokens * share), int(output_tokens * share))
        cost = price_usage(provider.removeprefix("sandbox-"), model, usage)
        if cost is None or batch is None or sync is None:
            batch = sync = None
            continue
        batch += cost.batch_usd
        sync += cost.sync_usd
    return Estimate(summary.count, summary.input_tokens, output_tokens, batch, sync, models)


def refuse_over(estimate: Estimate, max_cost: float | None) -> None:
    """Raise before anything is sent when the estimate exceeds the user's limit."""
    if max_cost is None:
        return
    if estimate.batch_usd is None:
        raise CostLimitExceeded(
            f"--max-cost {max_cost} was given but the cost of {', '.join(estimate.models)} is "
            "unknown; add its price to a prices file (BATCHGRAPH_PRICES) or drop --max-cost"
        )
    if estimate.batch_usd > max_cost:
        raise CostLimitExceeded(
            f"estimated batch cost ${estimate.batch_usd:.2f} is over --max-cost ${max_cost:.2f}; "
            "nothing was sent (raise the limit, lower --max-tokens, or split the input)"
        )
