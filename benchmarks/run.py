"""Run every benchmark and write `docs/benchmarks.md` (the entry point of `make bench`).

A benchmark is a module `benchmarks/bench_<name>.py` with a `run()` function returning a result
(or a list of them) with `title: str` and `rows: list[tuple[str, str]]` (metric, value). Its
module docstring's first paragraph is printed above its table. Adding a benchmark means adding
such a module; this file does not change.

    python -m benchmarks.run              # all benchmarks, rewrites docs/benchmarks.md
    python -m benchmarks.run sandbox      # only bench_sandbox.py (prints, rewrites nothing)
    python -m benchmarks.run jobs --quick # smaller sizes where a benchmark offers them
"""

from __future__ import annotations

import importlib
import inspect
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
REPORT = HERE.parent / "docs" / "benchmarks.md"
NOTES = HERE / "notes.md"
"""Hand-written findings (targets, profiles, fixes with their before/after numbers), appended to
the report as they are: they record earlier runs, which a new run cannot reproduce."""


class BenchResult(Protocol):
    title: str
    rows: list[tuple[str, str]]


def discover(names: Sequence[str] = ()) -> list[ModuleType]:
    """The `bench_*` modules, optionally only those named (`sandbox` for bench_sandbox)."""
    stems = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if names:
        stems = [s for s in stems if s.removeprefix("bench_") in names or s in names]
    return [importlib.import_module(f"benchmarks.{stem}") for stem in stems]


def machine(load: float) -> list[tuple[str, str]]:
    """What the numbers were measured on (`load`: 1-minute load average when the run began,
    since other work on the machine slows every number down)."""
    return [
        ("CPU", _cpu_model()),
        ("cores", str(os.cpu_count())),
        ("RAM", _ram()),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("OS", platform.platform()),
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("load average at start (1 min)", f"{load:.2f}"),
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def table(header: tuple[str, str], rows: Sequence[tuple[str, str]]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def section(module: ModuleType, results: Sequence[BenchResult], seconds: float) -> str:
    about = (module.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    stem = module.__name__.rsplit(".", 1)[-1]
    parts = []
    for result in results:
        parts.append(f"## {result.title}\n\n{about}\n")
        parts.append(f"Reproduce: `python -m benchmarks.{stem}` (took {seconds:.0f} s here).\n")
        parts.append(table(("metric", "value"), result.rows) + "\n")
    return "\n".join(parts)


def as_list(outcome: Any) -> list[BenchResult]:
    return list(outcome) if isinstance(outcome, list | tuple) else [outcome]


def run_module(module: ModuleType, quick: bool) -> Any:
    """`module.run()`, asked for its quick variant when it has one."""
    if quick and "quick" in inspect.signature(module.run).parameters:
        return module.run(quick=True)
    return module.run()


def main(argv: Sequence[str]) -> None:
    quick = "--quick" in argv
    names = [arg for arg in argv if not arg.startswith("--")]
    load = os.getloadavg()[0]
    sections = []
    for module in discover(names):
        print(f"running {module.__name__} …", flush=True)
        start = time.perf_counter()
        results = as_list(run_module(module, quick))
        elapsed = time.perf_counter() - start
        for result in results:
            print(f"\n{result.title}")
            for metric, value in result.rows:
                print(f"  {metric:<52} {value}")
        sections.append(section(module, results, elapsed))
    if argv:  # a selection or a quick run never replaces the full report
        return
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        "# Benchmarks\n\n"
        "Written by `make bench` (`python -m benchmarks.run`); every number below comes from "
        "the run described here.\n\n"
        + table(("machine", ""), machine(load))
        + "\n\nReproduce all: `make bench`. One benchmark: `python -m benchmarks.<module>`.\n\n"
        + "\n".join(sections)
        + (f"\n{NOTES.read_text()}" if NOTES.is_file() else "")
    )
    print(f"\nwrote {REPORT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
