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
from batchgraph.model import Kind, Usage
from batchgraph.pricing import total_cost
from batchgraph.report import priced_provider

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
    embeddings_only = summary.kinds.get(Kind.EMBEDDING, 0) == summary.count
    usages: list[tuple[str, str, Usage]] = []
    for model, tally in summary.models.items():
        output = 0
        if not embeddings_only:
            output = tally.max_output_tokens + ASSUMED_OUTPUT_TOKENS * tally.without_max_tokens
        usages.append((priced_provider(provider), model, Usage(tally.input_tokens, output)))
    cost = total_cost(usages)
    return Estimate(
        requests=summary.count,
        input_tokens=summary.input_tokens,
        output_tokens=sum(usage.output_tokens for _, _, usage in usages),
        batch_usd=cost.batch_usd,
        sync_usd=cost.sync_usd,
        models=tuple(sorted(summary.models)),
    )


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
