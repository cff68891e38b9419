"""Start-up: `batchgraph --help`, `status`, `list`, `status JOB` and `collect JOB` on a
database holding 100 finished jobs.

The jobs (500 requests each) are run to the end against a sandbox process first; then each
command runs 10 times in a fresh process and the wall time from spawn to exit is taken, so
interpreter start, imports, opening the database and printing are all included. `python -c
pass` is timed the same way, as the floor. The commands that only read (all but `collect`)
import neither LangGraph nor a provider SDK (tests/cli/test_startup_imports.py checks that).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.job_inputs import write_openai_input
from benchmarks.processes import BATCHGRAPH, measure, provider_env, sandbox_server

JOBS = 100
REQUESTS_PER_JOB = 500
RUNS = 10
TARGET_S = 0.25
READ_ONLY = ("--help", "status", "list", "status JOB")
"""The commands with a start-up target: they only read the store."""


@dataclass
class BenchResult:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


def fill(db: Path, server_url: str, work: Path) -> list[str]:
    """`JOBS` finished jobs in the store at `db`; their ids."""
    from batchgraph.api import Batchgraph
    from batchgraph.io import ReadOptions
    from batchgraph.providers import open_provider
    from batchgraph.runner.loop import Backoff, run_job

    source = work / "small.jsonl"
    write_openai_input(source, REQUESTS_PER_JOB, "gpt-4o-mini")
    base_url = server_url + "/openai/v1"
    ids = []
    with Batchgraph.open(
        db=str(db),
        provider_factory=lambda _job: open_provider(
            "openai", api_key="sandbox-key", base_url=base_url
        ),
    ) as bg:
        for _ in range(JOBS):
            job_id = bg.submit(source, provider="openai", options=ReadOptions(model="gpt-4o-mini"))
            run_job(bg, job_id, Backoff(initial=0.01, cap=0.05))
            ids.append(job_id)
    return ids


def timings(command: list[str], work: Path) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of `RUNS` runs."""
    env = provider_env("openai", "http://127.0.0.1:9", work / "home")
    runs = [measure(command, env, work) for _ in range(RUNS)]
    return [r.seconds for r in runs], [r.cpu_seconds for r in runs]


def run(commands: tuple[str, ...] = (BATCHGRAPH,)) -> BenchResult:
    """`commands`: the program to time (another checkout's, for a before/after comparison)."""
    result = BenchResult(f"Start-up on a database holding {JOBS} jobs")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        db = work / "jobs.db"
        with sandbox_server(work / "sandbox") as url:
            ids = fill(db, url, work)
        floor = timings([sys.executable, "-c", "pass"], work)
        result.rows.append(("python -c pass (the floor)", _spread(*floor)))
        cases = {
            "--help": ["--help"],
            "status": ["status", "--db", str(db)],
            "list": ["list", "--db", str(db)],
            "status JOB": ["status", ids[-1], "--db", str(db)],
            "collect JOB (finished)": ["collect", ids[-1], "--db", str(db)],
        }
        for label, args in cases.items():
            seconds, cpu = timings([*commands, *args], work)
            result.rows.append((label, _spread(seconds, cpu)))
            if label in READ_ONLY:
                met = "met" if statistics.median(seconds) < TARGET_S else "**missed**"
                result.rows.append((f"target: {label} under {TARGET_S} s", met))
    return result


def _spread(seconds: list[float], cpu: list[float]) -> str:
    return (
        f"{statistics.median(seconds):.2f} s median, {max(seconds):.2f} s slowest of {RUNS}; "
        f"CPU {statistics.median(cpu):.2f} s median"
    )


def main() -> None:
    outcome = run(tuple(sys.argv[1:]) or (BATCHGRAPH,))
    print(outcome.title)
    for metric, value in outcome.rows:
        print(f"  {metric:<40} {value}")


if __name__ == "__main__":
    main()
