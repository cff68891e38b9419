"""Ways to execute a job's requests besides one provider batch per chunk.

`sync` sends each request by its own synchronous call, with bounded concurrency and rate
limits, writing results to the ledger as they arrive: hosts without a Batch API, `--mode sync`
and the hedge that finishes a batch past its deadline.
"""

from batchgraph.executors.limits import Rate, RateLimiter
from batchgraph.executors.sync import SyncSettings, arun_request, run_request

__all__ = ["Rate", "RateLimiter", "SyncSettings", "arun_request", "run_request"]
