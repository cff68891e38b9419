"""Run a job to the end: tick, wait with growing pauses, tick again.

Stopping (Ctrl-C, a crash, a reboot) loses nothing: the store and checkpoints hold the job, and
`run --job` picks it up where it was. A provider that is rate limited, failing with 5xx or out of
reach for a while (`ProviderUnavailable`) is waited out, on the first step as on every later one;
any other provider error stops the loop at once, since trying again would only repeat it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from batchgraph.api import Batchgraph, JobView
from batchgraph.errors import JobBusy, ProviderUnavailable
from batchgraph.store.base import ChunkStatus


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses between ticks: `initial`, growing by `factor`, never above `cap` (seconds)."""

    initial: float = 1.0
    factor: float = 1.5
    cap: float = 60.0

    def delays(self) -> Callable[[], float]:
        current = self.initial

        def next_delay() -> float:
            nonlocal current
            delay, current = current, min(current * self.factor, self.cap)
            return delay

        return next_delay


OnUnavailable = Callable[[ProviderUnavailable], None]
"""Told each time a tick met a provider that is unavailable for now (the loop goes on)."""


def try_tick(bg: Batchgraph, job_id: str, on_unavailable: OnUnavailable | None = None) -> bool:
    """One tick; False when it could not be taken now: another process holds the job, or the
    provider is unavailable for now. Every other error is raised."""
    try:
        bg.tick(job_id)
    except JobBusy:
        return False
    except ProviderUnavailable as error:
        if on_unavailable is not None:
            on_unavailable(error)
        return False
    return True


def take_first_step(
    bg: Batchgraph,
    job_id: str,
    backoff: Backoff | None = None,
    on_unavailable: OnUnavailable | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """The job's first tick, which sends its first batches, taken as `run_job` takes every
    tick: a provider unavailable for now is waited out. Returns at once when another process
    holds the job (it is advancing it)."""
    next_delay = (backoff or Backoff()).delays()
    while True:
        try:
            bg.tick(job_id)
            return
        except JobBusy:
            return
        except ProviderUnavailable as error:
            if on_unavailable is not None:
                on_unavailable(error)
        sleep(next_delay())


def run_job(
    bg: Batchgraph,
    job_id: str,
    backoff: Backoff | None = None,
    on_progress: Callable[[JobView], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_unavailable: OnUnavailable | None = None,
) -> JobView:
    """Tick `job_id` until every request has its final state; return the final view."""
    next_delay = (backoff or Backoff()).delays()
    while True:
        ticked = try_tick(bg, job_id, on_unavailable)
        view = bg.view(job_id)
        if on_progress is not None:
            on_progress(view)
        if view.finished:
            return view
        if ticked and any(c.sync and c.status is not ChunkStatus.COLLECTED for c in view.chunks):
            # Synchronous requests are left: the step sent calls for its slice; go on at once.
            next_delay = (backoff or Backoff()).delays()
            continue
        sleep(_until_hedge(view, next_delay(), bg.deps.clock()))


def _until_hedge(view: JobView, delay: float, now: float) -> float:
    """`delay`, cut short so that a deadline's hedge starts on time."""
    from batchgraph.execution import Execution

    wake = Execution.from_spec(view.job.spec).wake_at(now)
    return delay if wake is None else max(0.0, min(delay, wake - now))
