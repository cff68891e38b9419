"""A job's final account: every request's state, the tokens used and what they cost.

Chunks sent as provider batches are paid at the batch price; chunks sent by synchronous calls
(hosts without a Batch API, `--mode sync`, a deadline's hedge) at the synchronous price. The
report says how many requests ended each way and what each part cost.
"""

from __future__ import annotations

from typing import Any

from batchgraph.model import Usage
from batchgraph.pricing import CostReport, total_cost
from batchgraph.providers.registry import spec_for
from batchgraph.store.base import ChunkRecord, JobRecord, LedgerStatus, Reuse, Store

FINAL = (
    LedgerStatus.SUCCEEDED,
    LedgerStatus.FAILED,
    LedgerStatus.EXPIRED,
    LedgerStatus.CANCELLED,
    LedgerStatus.MISSING,
)


def priced_provider(provider: str) -> str:
    """The provider's table in the price list (`ProviderSpec.price_key`); the sandbox charges
    what the provider it stands in for would."""
    return spec_for(provider).price_key


def chunk_cost(provider: str, chunks: list[ChunkRecord]) -> CostReport:
    """What the chunks' tokens cost at batch and at synchronous price, retries included."""
    usages: list[tuple[str, str, Usage]] = [
        (priced_provider(c.host or provider), c.model or "unknown", c.usage) for c in chunks
    ]
    return total_cost(usages)


def paid_usd(provider: str, chunks: list[ChunkRecord]) -> float | None:
    """What was paid: batch chunks at the batch price, synchronous ones at the sync price."""
    batch = chunk_cost(provider, [c for c in chunks if not c.sync]).batch_usd
    sync = chunk_cost(provider, [c for c in chunks if c.sync]).sync_usd
    return None if batch is None or sync is None else batch + sync


def build_report(store: Store, job: JobRecord) -> dict[str, Any]:
    """Counts that add up to the input count, and the cost paid against synchronous price.

    Tokens are summed over every collected chunk, retries included: what was paid for.
    `foreign_lines` counts result lines that carried another batch's tag (never written to the
    ledger); `foreign_batches` counts batches a lookup offered that turned out to be another
    job's.
    """
    counts = {status.value: n for status, n in store.counts(job.id).items()}
    chunks = store.list_chunks(job.id)
    cost = chunk_cost(job.provider, chunks)
    paid = paid_usd(job.provider, chunks)
    models = [
        {
            "model": line.model,
            "input_tokens": line.usage.input_tokens,
            "output_tokens": line.usage.output_tokens,
            "cached_tokens": line.usage.cached_tokens,
            "cache_write_tokens": line.usage.cache_write_tokens,
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
        "batches": sum(1 for c in chunks if not c.sync),
        "rounds": max((c.attempt for c in chunks), default=0),
        "resent": sum(c.size for c in chunks if c.attempt > 1),
        "foreign_lines": sum(c.counts.get("foreign", 0) for c in chunks),
        "foreign_batches": sum(c.counts.get("foreign_batches", 0) for c in chunks),
        "models": models,
        "paid_usd": paid,
        "batch_usd": cost.batch_usd,
        "sync_usd": cost.sync_usd,
        "saving_usd": None if paid is None or cost.sync_usd is None else cost.sync_usd - paid,
        "execution": execution_split(store, job, chunks),
        "reused": reused_report(store, job),
        "notes": cost.notes,
    }


def reused_report(store: Store, job: JobRecord) -> dict[str, Any]:
    """Requests answered without being sent — from the result cache (earlier jobs' answers) or
    as duplicates of a request of this job — and what they would have cost: their answers'
    tokens at the price this job pays (batch, or synchronous for a synchronous job)."""
    found = store.reused_answers(job.id)
    usages = [(priced_provider(job.provider), line.model, line.usage) for line in found]
    cost = total_cost(usages)
    sync = job.spec.get("execution", {}).get("mode") == "sync"
    return {
        "cache_hits": sum(line.requests for line in found if line.reuse is Reuse.CACHE),
        "duplicates": sum(line.requests for line in found if line.reuse is Reuse.DUPLICATE),
        "saved_usd": cost.sync_usd if sync else cost.batch_usd,
    }


def execution_split(store: Store, job: JobRecord, chunks: list[ChunkRecord]) -> dict[str, Any]:
    """How many requests ended by batch and by synchronous call (and of those, how many were
    a deadline's hedge), and what each part cost; `unsent` ended in no chunk (cancelled
    before planning; answered without being sent is `reused`). The requests add up to the
    input count."""
    by_chunk = store.counts_by_chunk(job.id)
    mode_of = {c.chunk: c for c in chunks}
    split = {"batch": 0, "sync": 0, "unsent": 0}
    for number, statuses in by_chunk.items():
        final = sum(n for status, n in statuses.items() if status in FINAL)
        chunk = mode_of.get(number) if number is not None else None
        split["unsent" if chunk is None else "sync" if chunk.sync else "batch"] += final
    reused = sum(line.requests for line in store.reused_answers(job.id))
    split["unsent"] -= reused  # in no chunk, but answered
    sync_chunks = [c for c in chunks if c.sync]
    batch_chunks = [c for c in chunks if not c.sync]
    out: dict[str, Any] = {
        "batch_requests": split["batch"],
        "sync_requests": split["sync"],
        "unsent_requests": split["unsent"],
        "reused_requests": reused,
        "batch_usd": chunk_cost(job.provider, batch_chunks).batch_usd,
        "sync_usd": chunk_cost(job.provider, sync_chunks).sync_usd,
    }
    hedge = [c for c in sync_chunks if job.spec.get("execution", {}).get("mode") != "sync"]
    if hedge:
        out["hedge_requests"] = split["sync"]
        out["hedge_usd"] = chunk_cost(job.provider, hedge).sync_usd
        out["hedge_provider"] = hedge[0].host or job.provider
    return out
