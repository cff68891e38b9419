"""Rich tables for jobs, chunks and costs."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from batchgraph.cli.output import usd

if TYPE_CHECKING:
    from batchgraph.api import JobView
    from batchgraph.store.base import ChunkRecord, FlowRecord, JobRecord

OUTCOME_STYLES = {
    "succeeded": "green",
    "failed": "red",
    "expired": "yellow",
    "cancelled": "magenta",
    "missing": "red",
    "queued": "cyan",
    "pending": "dim",
}


def age(timestamp: float) -> str:
    seconds = max(0, int(time.time() - timestamp))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def jobs_table(jobs: list[JobRecord]) -> Table:
    table = Table(title="Jobs", title_justify="left")
    table.add_column("job", no_wrap=True)  # an id is copied whole: never broken over lines
    for column in ("name", "provider", "status", "requests", "created"):
        table.add_column(column, justify="right" if column == "requests" else "left")
    for job in jobs:
        table.add_row(
            job.id, job.name, job.provider, job.status.value, f"{job.total:,}", age(job.created_at)
        )
    return table


def flows_table(flows: list[FlowRecord]) -> Table:
    table = Table(title="Flows", title_justify="left")
    table.add_column("flow", no_wrap=True)  # an id is copied whole: never broken over lines
    for column in ("name", "graph", "provider", "status", "threads", "wave", "created"):
        table.add_column(column, justify="right" if column in ("threads", "wave") else "left")
    for flow in flows:
        threads = flow.spec.get("threads")
        table.add_row(
            flow.id,
            flow.name,
            graph_name(str(flow.spec.get("graph", ""))),
            str(flow.spec.get("provider", "")),
            flow.status,
            f"{threads:,}" if isinstance(threads, int) else "",
            str(flow.progress.get("wave", "")),
            age(flow.created_at),
        )
    return table


def graph_name(reference: str) -> str:
    """A flow's graph as a table shows it: `review_flow.py:graph` for a file's, whatever the
    folder it was given in; a module's reference as it is."""
    path, _, attribute = reference.rpartition(":")
    if path.endswith(".py"):
        return f"{Path(path).name}:{attribute}"
    return reference


def counts_table(view: JobView) -> Table:
    table = Table(title=f"Requests ({view.job.total:,})", title_justify="left")
    table.add_column("state")
    table.add_column("requests", justify="right")
    for state, n in view.counts.items():
        if n:
            style = OUTCOME_STYLES.get(state, "")
            table.add_row(f"[{style}]{state}[/]", f"{n:,}")
    return table


def chunks_table(view: JobView) -> Table:
    table = Table(title=f"Batches ({len(view.chunks)})", title_justify="left")
    for column in ("chunk", "round", "requests", "batch id", "provider status", "ours"):
        table.add_column(
            column, justify="right" if column in ("chunk", "round", "requests") else "left"
        )
    for chunk in view.chunks:
        table.add_row(
            str(chunk.chunk),
            str(chunk.attempt),
            f"{chunk.size:,}",
            chunk.batch_id or _sync_label(chunk),
            chunk.provider_status or "-",
            chunk.status.value,
        )
    return table


def _sync_label(chunk: ChunkRecord) -> str:
    """What stands in a synchronous chunk's batch id cell: how, and where, it runs."""
    if not chunk.sync:
        return "-"
    return f"sync on {chunk.host}" if chunk.host else "sync"


def cost_table(report: dict[str, Any]) -> Table:
    table = Table(title="Cost", title_justify="left")
    for column in ("model", "input tok", "output tok", "cached tok", "batch", "synchronous"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in report["models"]:
        table.add_row(
            row["model"],
            f"{row['input_tokens']:,}",
            f"{row['output_tokens']:,}",
            f"{row['cached_tokens']:,}",
            usd(row["batch_usd"]),
            usd(row["sync_usd"]),
        )
    table.add_section()
    table.add_row("total", "", "", "", usd(report["batch_usd"]), usd(report["sync_usd"]))
    return table


def to_json(record: JobRecord | ChunkRecord | FlowRecord) -> dict[str, Any]:
    """A job, chunk or flow as `--json` prints it: every field, under its own name."""
    return dataclasses.asdict(record)


def cost_summary(report: dict[str, Any]) -> str:
    """What the job paid against the synchronous price, and how its requests ran."""
    paid = report.get("paid_usd", report.get("batch_usd"))
    text = (
        f"cost {usd(paid)} against {usd(report['sync_usd'])} synchronous "
        f"(saved {usd(report['saving_usd'])})"
    )
    split = report.get("execution") or {}
    if split.get("hedge_requests"):
        text += "\n" + hedge_split(split)
    elif split.get("sync_requests"):
        text += f"\n{split['sync_requests']:,} requests ran synchronously, at the sync price"
    free = sorted(
        {
            m["price_source"]
            for m in report.get("models", [])
            if m.get("price_source") and m.get("sync_usd") == 0 and m.get("input_tokens")
        }
    )
    if free and paid == 0:  # tokens used at a price of $0: a local server, free models
        text += "\n$0: " + "; ".join(free)
    return text + reuse_summary(report)


def hedge_split(split: dict[str, Any]) -> str:
    """How a hedged job's requests ended: by batch, by the hedge, and what each part cost."""
    return (
        f"{split['batch_requests']:,} requests by batch ({usd(split['batch_usd'])}), "
        f"{split['hedge_requests']:,} by hedge on {split['hedge_provider']} "
        f"(hedge cost {usd(split['hedge_usd'])} at the synchronous price)"
    )


def deadline_lines(job: JobRecord, report: dict[str, Any]) -> list[str]:
    """A job's deadline, when its hedge begins, and (once it has run) the hedge's split."""
    spec = job.spec.get("execution") or {}
    deadline = spec.get("deadline")
    if deadline is None:
        return []
    from batchgraph.execution import Execution

    execution = Execution.from_spec(job.spec)
    hedge_at = execution.hedge_at() or deadline
    host = execution.hedge_provider or job.provider
    lines = [f"deadline {_moment(deadline)}; hedge from {_moment(hedge_at)} on {host}"]
    split = report.get("execution") or {}
    if split.get("hedge_requests"):
        lines.append(hedge_split(split))
    return lines


def _moment(timestamp: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(timestamp).astimezone().isoformat(sep=" ", timespec="seconds")


def reuse_summary(report: dict[str, Any]) -> str:
    """The requests answered without being sent, and what that saved ("" when none were)."""
    reused = report.get("reused") or {}
    hits, duplicates = reused.get("cache_hits", 0), reused.get("duplicates", 0)
    if not hits and not duplicates:
        return ""
    parts = [f"{hits:,} from the result cache"] if hits else []
    if duplicates:
        parts.append(f"{duplicates:,} as duplicates of a request sent once")
    return f"\n{hits + duplicates:,} answered without sending ({', '.join(parts)}): saved " + usd(
        reused.get("saved_usd")
    )
