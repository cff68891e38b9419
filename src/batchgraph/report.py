"""A job's final account: every request's state, the tokens used and what they cost."""

from __future__ import annotations

from typing import Any

from batchgraph.pricing import CostReport, total_cost
from batchgraph.providers.registry import spec_for
from batchgraph.store.base import ChunkRecord, JobRecord, Store


def priced_provider(provider: str) -> str:
    """The provider's table in the price list (`ProviderSpec.price_key`); the sandbox charges
    what the provider it stands in for would."""
    return spec_for(provider).price_key


def chunk_cost(provider: str, chunks: list[ChunkRecord]) -> CostReport:
    """What the collected batches cost so far, retries included: what was paid for."""
    usages = [(priced_provider(provider), c.model or "unknown", c.usage) for c in chunks]
    return total_cost(usages)


def build_report(store: Store, job: JobRecord) -> dict[str, Any]:
    """Counts that add up to the input count, and the cost at batch against synchronous price.

    Tokens are summed over every collected batch, retries included: what was paid for.
    `foreign_lines` counts result lines that carried another batch's tag (never written to the
    ledger); `foreign_batches` counts batches a lookup offered that turned out to be another
    job's.
    """
    counts = {status.value: n for status, n in store.counts(job.id).items()}
    chunks = store.list_chunks(job.id)
    cost = chunk_cost(job.provider, chunks)
    models = [
        {
            "model": line.model,
            "input_tokens": line.usage.input_tokens,
            "output_tokens": line.usage.output_tokens,
            "cached_tokens": line.usage.cached_tokens,
            "batch_usd": line.cost.batch_usd,
            "sync_usd": line.cost.sync_usd,
            "price_source": line.cost.source,
            "price_as_of": line.cost.as_of.isoformat() if line.cost.as_of else None,
        }
        for line in sorted(cost.lines, key=lambda line: line.model)
    ]
    return {
        "total": job.total,
        "counts": counts,
        "accounted": sum(counts.values()) == job.total,
        "batches": len(chunks),
        "rounds": max((c.attempt for c in chunks), default=0),
        "resent": sum(c.size for c in chunks if c.attempt > 1),
        "foreign_lines": sum(c.counts.get("foreign", 0) for c in chunks),
        "foreign_batches": sum(c.counts.get("foreign_batches", 0) for c in chunks),
        "models": models,
        "batch_usd": cost.batch_usd,
        "sync_usd": cost.sync_usd,
        "saving_usd": cost.saving_usd,
        "notes": cost.notes,
    }
