"""Run a job to the end: tick, wait with growing pauses, tick again.

Stopping (Ctrl-C, a crash, a reboot) loses nothing: the store and checkpoints hold the job, and
`run --job` picks it up where it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from batchgraph.api import Batchgraph, JobView
from batchgraph.errors import JobBusy, ProviderCallError


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


MAX_FAILED_TICKS = 8
"""Consecutive ticks that may fail on provider errors before `run_job` gives up."""


def run_job(
    bg: Batchgraph,
    job_id: str,
    backoff: Backoff | None = None,
    on_progress: Callable[[JobView], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> JobView:
    """Tick `job_id` until every request has its final state; return the final view."""
    next_delay = (backoff or Backoff()).delays()
    failures = 0
    while True:
        try:
            bg.tick(job_id)
            failures = 0
        except JobBusy:
            pass
        except ProviderCallError:
            failures += 1
            if failures >= MAX_FAILED_TICKS:
                raise
        view = bg.view(job_id)
        if on_progress is not None:
            on_progress(view)
        if view.finished:
            return view
        sleep(next_delay())
