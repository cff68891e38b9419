"""A job's final account: every request's state, the tokens used and what they cost."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from batchgraph.model import Usage
from batchgraph.pricing import price_usage
from batchgraph.store.base import JobRecord, Store


def usage_by_model(store: Store, job_id: str) -> dict[str, Usage]:
    """Tokens summed over every collected batch of the job, per model (retries included)."""
    totals: dict[str, Usage] = defaultdict(Usage)
    for chunk in store.list_chunks(job_id):
        totals[chunk.model or "unknown"] = totals[chunk.model or "unknown"] + chunk.usage
    return dict(totals)


def build_report(store: Store, job: JobRecord) -> dict[str, Any]:
    """Counts that add up to the input count, and the cost at batch against synchronous price."""
    counts = {status.value: n for status, n in store.counts(job.id).items()}
    chunks = store.list_chunks(job.id)
    by_model = usage_by_model(store, job.id)
    provider = job.provider.removeprefix("sandbox-")
    models = []
    batch_usd: float | None = 0.0
    sync_usd: float | None = 0.0
    for model, usage in sorted(by_model.items()):
        cost = price_usage(provider, model, usage)
        models.append(
            {
                "model": model,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cached_tokens": usage.cached_tokens,
                "batch_usd": cost.batch_usd if cost else None,
                "sync_usd": cost.sync_usd if cost else None,
            }
        )
        if cost is None:
            batch_usd = sync_usd = None
        elif batch_usd is not None and sync_usd is not None:
            batch_usd += cost.batch_usd
            sync_usd += cost.sync_usd
    return {
        "total": job.total,
        "counts": counts,
        "accounted": sum(counts.values()) == job.total,
        "batches": len(chunks),
        "rounds": max((c.attempt for c in chunks), default=0),
        "models": models,
        "batch_usd": batch_usd,
        "sync_usd": sync_usd,
        "saving_usd": None if batch_usd is None or sync_usd is None else sync_usd - batch_usd,
    }
