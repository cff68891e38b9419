"""The store: jobs, the per-request ledger, results, and the LangGraph checkpoints.

`open_store()` picks the backend from its argument; `Store` (in `base`) is what callers use.
"""

from batchgraph.store.base import (
    ChunkRecord,
    ChunkStatus,
    JobRecord,
    JobStatus,
    LedgerRow,
    LedgerStatus,
    Store,
)
from batchgraph.store.location import open_store, resolve_location

__all__ = [
    "ChunkRecord",
    "ChunkStatus",
    "JobRecord",
    "JobStatus",
    "LedgerRow",
    "LedgerStatus",
    "Store",
    "open_store",
    "resolve_location",
]
