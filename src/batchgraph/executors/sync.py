"""The synchronous executor: send requests one call each, many at a time, within rate limits.

    items ─► workers (at most `concurrency` calls in flight)
               │ limiter.acquire ─► client.call ─┬─ Result ──────────────► sink (in groups)
               │                                 ├─ CallFailure: wait (Retry-After, or
               │                                 │  backoff) and send again, up to a limit;
               │                                 │  then a retryable FAILED result
               └─ HostStopped (a spent quota, a refused feature): take no more items;
                  finish those in flight; raise

Results reach `sink` in groups (`flush_every` results or `flush_seconds`, whichever first), so
the caller writes them in small transactions, not one per request. A run may be told to stop
taking new items at a moment (`stop_at`): what was sent is finished, the rest stays for later.

A call in flight when the process dies has no result in the ledger and is sent again on the
next run: it may be paid twice. At most `concurrency` calls are in flight, which bounds that.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from batchgraph.errors import HostStopped
from batchgraph.executors.limits import Rate, RateLimiter
from batchgraph.model import Outcome, ProviderError, Request, Result
from batchgraph.providers.base import Provider, WireItem
from batchgraph.providers.sync_api import (
    SYNC_BATCH_ID,
    CallFailure,
    SyncClient,
    estimated_tokens,
)

Sink = Callable[[list[Result]], None]


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """How hard to press a host. The defaults suit the large providers' usual tiers."""

    concurrency: int = 32
    """Calls in flight at once (also what a crash may pay twice, at most)."""
    requests: Rate | None = None
    """Requests per window (None: no client-side limit; 429s still slow us down)."""
    tokens: Rate | None = None
    """Tokens per window, estimated from each request (`estimated_tokens`)."""
    max_retries: int = 4
    """Sends again after a 5xx, timeout or lost connection, before the request is recorded
    as failed (retryable: a later round may send it again)."""
    max_rate_limited: int = 30
    """Sends again after a 429 (no cost: the call was refused), before giving up likewise."""
    backoff: float = 0.5
    """First wait after a failure without `Retry-After`; doubles, with jitter."""
    backoff_cap: float = 30.0
    flush_every: int = 200
    flush_seconds: float = 0.5

    def limiter(self) -> RateLimiter:
        return RateLimiter(self.requests, self.tokens)


@dataclass(slots=True)
class RunStats:
    """What one run did."""

    sent: int = 0
    """Calls made, retries included."""
    results: int = 0
    rate_limited: int = 0
    retried: int = 0
    stopped_early: bool = False
    """Items were left untaken (time was up, or the host stopped the run)."""
    quota: HostStopped | None = field(default=None, repr=False)


async def execute(
    client: SyncClient,
    items: Iterable[WireItem],
    sink: Sink,
    settings: SyncSettings,
    limiter: RateLimiter | None = None,
    stop_at: float | None = None,
) -> RunStats:
    """Send every item (until `stop_at`, a `time.monotonic()` moment) and pass each result to
    `sink`; raises `HostStopped` after the calls in flight have ended and been passed on."""
    run = _Run(client, iter(items), sink, settings, limiter or settings.limiter(), stop_at)
    workers = [asyncio.create_task(run.worker()) for _ in range(max(1, settings.concurrency))]
    flusher = asyncio.create_task(run.flush_periodically())
    try:
        await asyncio.gather(*workers)
    finally:
        flusher.cancel()
        run.flush()
    if run.stats.quota is not None:
        raise run.stats.quota
    return run.stats


class _Run:
    def __init__(
        self,
        client: SyncClient,
        items: Iterator[WireItem],
        sink: Sink,
        settings: SyncSettings,
        limiter: RateLimiter,
        stop_at: float | None,
    ) -> None:
        self.client = client
        self.items = items
        self.sink = sink
        self.settings = settings
        self.limiter = limiter
        self.stop_at = stop_at
        self.stats = RunStats()
        self.pending: list[Result] = []
        self.flushed_at = time.monotonic()

    def next_item(self) -> WireItem | None:
        if self.stats.quota is not None:
            return None
        if self.stop_at is not None and time.monotonic() >= self.stop_at:
            self.stats.stopped_early = True
            return None
        item = next(self.items, None)
        return item

    async def worker(self) -> None:
        while (item := self.next_item()) is not None:
            try:
                result = await self.send(item)
            except HostStopped as quota:
                self.stats.quota = self.stats.quota or quota
                self.stats.stopped_early = True
                return
            self.pending.append(result)
            self.stats.results += 1
            if len(self.pending) >= self.settings.flush_every:
                self.flush()

    async def send(self, item: WireItem) -> Result:
        """One item to its result, sending again after transient failures."""
        settings = self.settings
        failures = limited = 0
        tokens = estimated_tokens(item.request) if self.limiter.tokens else 0
        while True:
            await self.limiter.acquire(tokens)
            self.stats.sent += 1
            try:
                return await self.client.call(item)
            except CallFailure as failure:
                if failure.rate_limited:
                    limited += 1
                    self.stats.rate_limited += 1
                    exhausted = limited > settings.max_rate_limited
                else:
                    failures += 1
                    exhausted = failures > settings.max_retries
                if exhausted:
                    return gave_up(item.custom_id, failure)
                self.stats.retried += 1
                wait = failure.retry_after
                if wait is None:
                    attempt = limited if failure.rate_limited else failures
                    wait = min(settings.backoff_cap, settings.backoff * 2 ** (attempt - 1))
                    wait *= 0.5 + random.random() / 2
                if failure.rate_limited:
                    self.limiter.pause_for(wait)
                await asyncio.sleep(wait)

    async def flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_seconds)
            self.flush()

    def flush(self) -> None:
        if self.pending:
            group, self.pending = self.pending, []
            self.sink(group)
        self.flushed_at = time.monotonic()


def gave_up(custom_id: str, failure: CallFailure) -> Result:
    """A request that kept failing transiently: failed, and retryable by a later round."""
    error = failure.error
    retryable = ProviderError(error.code, error.message, error.raw, retryable=True)
    return Result(custom_id, Outcome.FAILED, SYNC_BATCH_ID, error=retryable)


# -- one request, for callers outside a job --------------------------------------------------


async def arun_request(
    provider: Provider, request: Request, settings: SyncSettings | None = None
) -> Result:
    """Send one request synchronously (with the executor's retries) and return its result.

    For code that needs an answer now, outside any job (e.g. a chat model called outside a
    flow). Raises `HostStopped` when the host's quota is spent (or it refuses a feature).
    """
    found: list[Result] = []
    client = provider.sync_client()
    try:
        await execute(client, [WireItem("0", request)], found.extend, settings or SyncSettings())
    finally:
        await client.aclose()
    return found[0]


def run_request(
    provider: Provider, request: Request, settings: SyncSettings | None = None
) -> Result:
    """`arun_request` from synchronous code; inside a running event loop it runs on a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_request(provider, request, settings))
    box: list[Result | BaseException] = []

    def target() -> None:
        try:
            box.append(asyncio.run(arun_request(provider, request, settings)))
        except BaseException as err:  # handed to the caller's thread below
            box.append(err)

    thread = threading.Thread(target=target, name="batchgraph-sync-request")
    thread.start()
    thread.join()
    outcome = box[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
