"""The live display of `batchgraph run`: a bar over requests, batches by status, cost so far."""

from __future__ import annotations

import time
from collections import Counter
from types import TracebackType

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from batchgraph.api import JobView
from batchgraph.cli.output import console, usd
from batchgraph.report import paid_usd

FINAL = ("succeeded", "failed", "expired", "cancelled", "missing")


class JobProgress:
    """Call it with each new view of the job; use it as a context manager around the run."""

    def __init__(self, job_id: str, total: int) -> None:
        self.started = time.monotonic()
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.bar.add_task(f"job {job_id}", total=total)
        self.line = Text("planning…")
        self.live = Live(Group(self.bar, self.line), console=console, refresh_per_second=4)

    def __call__(self, view: JobView) -> None:
        done = sum(view.counts.get(state, 0) for state in FINAL)
        self.bar.update(self.task, completed=done)
        batches = Counter(
            f"sync {c.status.value}" if c.sync else c.provider_status or c.status.value
            for c in view.chunks
        )
        batch_text = ", ".join(f"{n} {status}" for status, n in sorted(batches.items()))
        failed = view.counts.get("failed", 0) + view.counts.get("expired", 0)
        cost = paid_usd(view.job.provider, view.chunks)
        self.line = Text.assemble(
            ("batches: ", "bold"),
            batch_text or "none yet",
            ("   succeeded: ", "bold"),
            (f"{view.counts.get('succeeded', 0):,}", "green"),
            ("   failed or expired so far: ", "bold"),
            (f"{failed:,}", "red" if failed else ""),
            ("   cost so far: ", "bold"),
            usd(cost),
        )
        self.live.update(Group(self.bar, self.line))

    def __enter__(self) -> JobProgress:
        self.live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.live.__exit__(exc_type, exc, tb)
        console.line()
