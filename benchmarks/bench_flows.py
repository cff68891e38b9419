"""Flows: a two-step LangGraph graph over 1,000 and 10,000 threads, every call through batches.

`batchgraph flow run` runs in a child process against a sandbox process whose batches finish
at once; its wall time covers starting each thread, two waves of batch jobs and resuming every
thread twice, and its peak memory is its own. LangGraph's own cost is the same graph invoked
once per thread, on a model that answers at once, with the same SQLite checkpointer (also a
child process). The overhead per thread-step is the difference, over threads × 2 steps.
Targets: batchgraph adds at most 50% on top of LangGraph's own cost; peak memory flat in the
number of threads and under 300 MB at 10,000.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.processes import BATCHGRAPH, measure, provider_env, sandbox_server

SIZES = (1_000, 10_000)
QUICK_SIZES = (1_000,)
STEPS = 2

IMMEDIATE = """
import sys, json
from langgraph.checkpoint.sqlite import SqliteSaver
from benchmarks.flow_graphs import immediate_graph
with SqliteSaver.from_conn_string(sys.argv[1]) as saver:
    graph = immediate_graph.compile(checkpointer=saver)
    for n, line in enumerate(open(sys.argv[2])):
        graph.invoke(json.loads(line), {"configurable": {"thread_id": str(n)}}, durability="sync")
"""


@dataclass
class BenchResult:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


def write_states(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            out.write(json.dumps({"text": f"Review {n}: the kettle leaks but boils fast."}) + "\n")
    return path


def run(quick: bool = False, sizes: tuple[int, ...] = ()) -> BenchResult:
    result = BenchResult("Flows: a two-step graph, every model call through provider batches")
    root = Path(__file__).resolve().parent.parent
    for size in sizes or (QUICK_SIZES if quick else SIZES):
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            states = write_states(work / "states.jsonl", size)
            with sandbox_server(work / "sandbox") as url:
                env = provider_env("openai", url, work / "home")
                # The tree this file is in, whatever is installed: its graphs and its package.
                env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
                flow = measure(
                    [BATCHGRAPH, "flow", "run", "benchmarks.flow_graphs:graph", str(states),
                     "-p", "openai", "-m", "gpt-4o-mini", "--poll-max", "0.2"],
                    env, root, stdout=work / "flow.txt",
                )  # fmt: skip
            plain = measure(
                [sys.executable, "-c", IMMEDIATE, str(work / "plain.db"), str(states)],
                env, root, stdout=work / "plain.txt",
            )  # fmt: skip
        steps = size * STEPS
        extra_ms = (flow.seconds - plain.seconds) / steps * 1000
        added = flow.seconds / plain.seconds - 1
        result.rows += [
            (f"{size:,} threads: flow run, wall", f"{flow.seconds:.1f} s"),
            (f"{size:,} threads: LangGraph's own invoke, wall", f"{plain.seconds:.1f} s"),
            (f"{size:,} threads: batchgraph on top of LangGraph", f"{added:+.0%}"),
            (f"{size:,} threads: extra per thread-step", f"{extra_ms:.1f} ms"),
            (f"{size:,} threads: flow peak memory", f"{flow.peak_mb:.0f} MB"),
        ]  # fmt: skip
    return result


if __name__ == "__main__":  # `python -m benchmarks.bench_flows [--quick] [THREADS ...]`
    counts = tuple(int(arg) for arg in sys.argv[1:] if arg.isdigit())
    for metric, value in run(quick="--quick" in sys.argv, sizes=counts).rows:
        print(f"{metric}: {value}")
