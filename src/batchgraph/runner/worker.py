"""Serve every open job: one tick each, a pause, again — the loop behind `batchgraph worker`.

Several workers may serve one database: a job another worker is ticking is skipped, not waited
for, thanks to the per-job lock. A job this worker cannot serve (no key for its provider, a host
out of reach, a provider refusing it) is reported and skipped, so it never keeps the healthy
jobs of the same database waiting; it is tried again on the next pass, since the cause may be
fixed meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from batchgraph.api import Batchgraph
from batchgraph.errors import BatchgraphError, JobBusy, ProviderUnavailable
from batchgraph.store.base import ChunkStatus, JobRecord


@dataclass
class WorkerPass:
    """What one pass over the open jobs did."""

    ticked: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    """Jobs whose provider is unavailable for now (rate limit, 5xx), with the error."""
    unservable: dict[str, str] = field(default_factory=dict)
    """Jobs that cannot be served until something changes, with the reason."""
    finished: list[str] = field(default_factory=list)


def open_jobs(bg: Batchgraph) -> list[JobRecord]:
    """Jobs without a final report, oldest first."""
    return [job for job in reversed(bg.jobs()) if job.report is None]


def serve_once(bg: Batchgraph) -> WorkerPass:
    """Tick every open job once; whatever stops one job does not stop the others."""
    done = WorkerPass()
    for job in open_jobs(bg):
        try:
            bg.tick(job.id)
        except JobBusy:
            done.busy.append(job.id)
            continue
        except ProviderUnavailable as error:
            done.waiting[job.id] = str(error)
            continue
        except BatchgraphError as error:
            done.unservable[job.id] = str(error)
            continue
        done.ticked.append(job.id)
        if bg.store.get_job(job.id).report is not None:
            done.finished.append(job.id)
    return done


def serve(
    bg: Batchgraph,
    interval: float,
    on_pass: Callable[[WorkerPass], None],
    sleep: Callable[[float], None] = time.sleep,
    until_idle: bool = False,
) -> WorkerPass:
    """Pass over the open jobs every `interval` seconds; `until_idle`: stop when every open job
    left is one this worker cannot serve (none, when all are finished). Returns the last pass."""
    while True:
        done = serve_once(bg)
        on_pass(done)
        if until_idle and {job.id for job in open_jobs(bg)} <= set(done.unservable):
            return done
        sleep(pause(bg, done, interval))


def pause(bg: Batchgraph, done: WorkerPass, interval: float) -> float:
    """`interval` — or none while a job just ticked has synchronous requests left (a step
    sends them for a few seconds only), or less when a deadline's hedge is due sooner."""
    from batchgraph.execution import Execution

    now = bg.deps.clock()
    wait = interval
    for job in open_jobs(bg):
        chunks = bg.store.list_chunks(job.id)
        syncing = any(c.sync and c.status is not ChunkStatus.COLLECTED for c in chunks)
        if syncing and job.id in done.ticked:
            return 0.0
        wake = Execution.from_spec(job.spec).wake_at(now)
        if wake is not None:
            wait = min(wait, wake - now)
    return max(0.0, wait)
