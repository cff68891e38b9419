"""Serve every open job: one tick each, a pause, again — the loop behind `batchgraph worker`.

Several workers may serve one database: a job another worker is ticking is skipped, not waited
for, thanks to the per-job lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from batchgraph.api import Batchgraph
from batchgraph.errors import JobBusy, ProviderCallError
from batchgraph.store.base import JobRecord


@dataclass
class WorkerPass:
    """What one pass over the open jobs did."""

    ticked: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)


def open_jobs(bg: Batchgraph) -> list[JobRecord]:
    """Jobs without a final report, oldest first."""
    return [job for job in reversed(bg.jobs()) if job.report is None]


def serve_once(bg: Batchgraph) -> WorkerPass:
    """Tick every open job once; a provider error on one job does not stop the others."""
    done = WorkerPass()
    for job in open_jobs(bg):
        try:
            bg.tick(job.id)
        except JobBusy:
            done.busy.append(job.id)
            continue
        except ProviderCallError as error:
            done.failed[job.id] = str(error)
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
) -> None:
    """Pass over the open jobs every `interval` seconds; `until_idle`: stop when none is left."""
    while True:
        on_pass(serve_once(bg))
        if until_idle and not open_jobs(bg):
            return
        sleep(interval)
