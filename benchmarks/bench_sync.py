"""Synchronous execution: 10,000 chat requests by direct calls against a sandbox that answers
at once, `batchgraph run --mode sync` against a hand-written `AsyncOpenAI` + `asyncio.Semaphore`
script at the same concurrency.

Both clients run as child processes against one sandbox process (no latency), so neither
pays for the server; wall time and CPU time are each client's own. batchgraph also validates
the input, writes the ledger, records each answer in the store (in groups of 200 or every half
second) and writes the results file at the end; the script only writes its answers. Per-request
overhead is the difference in wall time (and in CPU time) divided by the number of requests.
Each client runs twice, in alternating order, and the best wall time of each is compared (the
machine is shared: a load that changes during the run would otherwise favour one side).
Target: batchgraph within 1.3 times the script's wall time.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.job_inputs import write_openai_input
from benchmarks.processes import BATCHGRAPH, Measured, measure, provider_env, sandbox_server

SIZE = 10_000
QUICK_SIZE = 1_000
CONCURRENCY = 32
"""Calls in flight: batchgraph's default for OpenAI, given to both clients."""
MODEL = "gpt-4o-mini"
ROUNDS = 2


@dataclass
class BenchResult:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


def run_rounds(work: Path, size: int) -> tuple[list[Measured], list[Measured]]:
    """batchgraph and the script, `ROUNDS` times each in alternating order (ours, script,
    script, ours, …) on the same input against one sandbox process, so that a load that
    rises or falls during the run weighs on both alike."""
    root = Path(__file__).resolve().parent.parent
    source = work / "in.jsonl"
    write_openai_input(source, size, MODEL)
    ours: list[Measured] = []
    script: list[Measured] = []
    with sandbox_server(work / "sandbox") as url:
        for round_ in range(ROUNDS):
            env = provider_env("openai", url, work / f"home{round_}")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
            order = (_ours, _script) if round_ % 2 == 0 else (_script, _ours)
            for client in order:
                measured = client(work, source, env, root)
                (ours if client is _ours else script).append(measured)
                _check(work / "out.jsonl", size)
    return ours, script


def _ours(work: Path, source: Path, env: dict[str, str], root: Path) -> Measured:
    return measure(
        [BATCHGRAPH, "run", str(source), "-p", "openai", "--mode", "sync", "--new",
         "--concurrency", str(CONCURRENCY), "-o", str(work / "out.jsonl"), "--poll-max", "0.2"],
        env, root, stdout=work / "batchgraph.txt",
    )  # fmt: skip


def _script(work: Path, source: Path, env: dict[str, str], root: Path) -> Measured:
    return measure(
        [sys.executable, "-m", "benchmarks.baseline_sync_openai", str(source),
         str(work / "out.jsonl"), str(CONCURRENCY)],
        env, root, stdout=work / "script.txt",
    )  # fmt: skip


def _check(path: Path, size: int) -> None:
    lines = path.read_text().count("\n")
    if lines != size:
        raise RuntimeError(f"{path.name} holds {lines} results, not {size}")
    path.unlink()


def run(quick: bool = False) -> BenchResult:
    size = QUICK_SIZE if quick else SIZE
    result = BenchResult("Synchronous execution: batchgraph run --mode sync against AsyncOpenAI")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        runs = run_rounds(Path(folder), size)
    load_after = os.getloadavg()[0]
    ours, script = (min(measured, key=lambda m: m.seconds) for measured in runs)
    ours_cpu, script_cpu = (min(m.cpu_seconds for m in measured) for measured in runs)
    per_request = (ours.seconds - script.seconds) / size * 1000
    per_request_cpu = (ours_cpu - script_cpu) / size * 1000
    head = f"{size:,} requests at concurrency {CONCURRENCY}, best of {ROUNDS}"
    result.rows += [
        (f"{head}: batchgraph, wall", f"{ours.seconds:.1f} s"),
        ("hand-written AsyncOpenAI + Semaphore, wall", f"{script.seconds:.1f} s"),
        ("batchgraph / script, wall (target: at most 1.3)", f"{ours.seconds / script.seconds:.2f}"),
        ("every run's wall, batchgraph", ", ".join(f"{m.seconds:.1f} s" for m in runs[0])),
        ("every run's wall, script", ", ".join(f"{m.seconds:.1f} s" for m in runs[1])),
        ("batchgraph, requests per second", f"{size / ours.seconds:,.0f}"),
        ("script, requests per second", f"{size / script.seconds:,.0f}"),
        ("batchgraph, client CPU per request", f"{ours_cpu / size * 1000:.2f} ms"),
        ("script, client CPU per request", f"{script_cpu / size * 1000:.2f} ms"),
        ("batchgraph overhead per request, wall", f"{per_request:+.2f} ms"),
        ("batchgraph overhead per request, CPU", f"{per_request_cpu:+.2f} ms"),
        ("batchgraph peak memory", f"{ours.peak_mb:.0f} MB"),
        ("script peak memory", f"{script.peak_mb:.0f} MB"),
        ("load average (1 min) before and after", f"{load_before:.1f}, {load_after:.1f}"),
    ]  # fmt: skip
    return result


if __name__ == "__main__":
    from benchmarks.run import main

    main(["sync", *sys.argv[1:]])
