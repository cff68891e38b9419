"""Whole jobs: `batchgraph run` from input file to results file against a hand-written SDK script.

Each case runs twice against a fresh sandbox process at instant processing: once as `batchgraph
run FILE -p PROVIDER -m MODEL -o out.jsonl --poll-max 2` with a fresh data directory, once as
`benchmarks/baseline_<provider>.py`, which does the same job with only the provider's official
SDK (write the upload files, upload, create, poll, download, parse into a results file). Both
poll with the same cadence: 0.5 s after the first check, growing 1.5 times per check, at most
2 s. Wall time is spawn to exit; peak memory is the client process's own `ru_maxrss` (the
sandbox's is not counted). Phases come from the job's timestamps and checkpoints (`phases`).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.job_inputs import write_openai_input
from benchmarks.phases import ORDER, job_phases
from benchmarks.processes import BATCHGRAPH, Measured, measure, provider_env, sandbox_server

REPO = Path(__file__).resolve().parent.parent
POLL_MAX = 2.0
MAX_RATIO = 1.5
MAX_PEAK_MB = 300
FLAT_MB = 10
"""Growth in peak memory from 100,000 to 1,000,000 requests that still counts as flat (noise)."""
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "mistral": "mistral-small-latest",
    "gemini": "gemini-2.5-flash",
}
CASES = (
    ("openai", 10_000),
    ("openai", 100_000),
    ("openai", 1_000_000),
    ("anthropic", 100_000),
    ("mistral", 100_000),
    ("gemini", 100_000),
)
QUICK_CASES = (
    ("openai", 10_000),
    ("openai", 100_000),
    ("anthropic", 10_000),
    ("mistral", 10_000),
    ("gemini", 10_000),
)


@dataclass
class BenchResult:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CaseResult:
    provider: str
    requests: int
    input_mb: float
    ours: Measured
    baseline: Measured
    phases: dict[str, float]


def run_case(provider: str, requests: int, work: Path) -> CaseResult:
    """One job both ways, each on its own fresh sandbox and data directory."""
    model = MODELS[provider]
    source = work / f"input-{provider}-{requests}.jsonl"
    size = write_openai_input(source, requests, model)
    with sandbox_server(work / "sandbox-ours") as url:
        home = work / "home"
        env = provider_env(provider, url, home)
        command = [BATCHGRAPH, "run", str(source), "-p", provider, "-m", model]
        command += ["-o", str(work / "ours.jsonl"), "--poll-max", str(POLL_MAX)]
        ours = measure(command, env, work)
    phases = job_phases(home / "batchgraph.db", ours.started, ours.started + ours.seconds)
    _count_lines(work / "ours.jsonl", requests)
    shutil.rmtree(work / "sandbox-ours")
    with sandbox_server(work / "sandbox-baseline") as url:
        env = provider_env(provider, url, work / "unused")
        command = [sys.executable, "-m", f"benchmarks.baseline_{provider}", str(source)]
        command += [str(work / "baseline.jsonl"), str(POLL_MAX)]
        baseline = measure(command, env, REPO, stdout=work / "baseline-stdout.txt")
    _count_lines(work / "baseline.jsonl", requests)
    shutil.rmtree(work / "sandbox-baseline")
    return CaseResult(provider, requests, size / 1e6, ours, baseline, phases)


def _count_lines(path: Path, expected: int) -> None:
    with path.open("rb") as lines:
        count = sum(1 for _ in lines)
    if count != expected:
        raise RuntimeError(f"{path.name}: {count:,} results for {expected:,} requests")


def summary(results: list[CaseResult]) -> BenchResult:
    table = BenchResult("Whole jobs: batchgraph run against the hand-written SDK baseline")
    for case in results:
        label = f"{case.provider} {case.requests:,}"
        ratio = case.ours.seconds / case.baseline.seconds
        table.rows.append(
            (
                f"{label}: wall time, batchgraph / baseline",
                f"{case.ours.seconds:.1f} s / {case.baseline.seconds:.1f} s = {ratio:.2f}×",
            )
        )
        table.rows.append(
            (
                f"{label}: peak RSS, batchgraph / baseline",
                f"{case.ours.peak_mb:.0f} MB / {case.baseline.peak_mb:.0f} MB",
            )
        )
        table.rows.append((f"{label}: throughput (batchgraph)", _rate(case)))
    growth = _memory_growth(results)
    if growth is not None:
        table.rows.append(("openai peak RSS growth 100,000 → 1,000,000 (batchgraph)", growth))
    table.rows.extend(targets(results))
    return table


def targets(results: list[CaseResult]) -> list[tuple[str, str]]:
    """The issue's targets at 1,000,000 requests, each marked met or missed."""
    by_size = {c.requests: c for c in results if c.provider == "openai"}
    big, small = by_size.get(1_000_000), by_size.get(100_000)
    if big is None:
        return []
    ratio = big.ours.seconds / big.baseline.seconds
    rows = [
        (f"target: wall time ≤ {MAX_RATIO}× baseline at 1,000,000", _verdict(ratio <= MAX_RATIO)),
        (
            f"target: peak RSS < {MAX_PEAK_MB} MB at 1,000,000",
            _verdict(big.ours.peak_mb < MAX_PEAK_MB),
        ),
    ]
    if small is not None:
        flat = big.ours.peak_mb - small.ours.peak_mb <= FLAT_MB
        rows.append(("target: peak RSS flat from 100,000 to 1,000,000", _verdict(flat)))
    return rows


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def _rate(case: CaseResult) -> str:
    return f"{case.requests / case.ours.seconds:,.0f} requests/s ({case.input_mb:.0f} MB input)"


def _memory_growth(results: list[CaseResult]) -> str | None:
    peaks = {c.requests: c.ours.peak_mb for c in results if c.provider == "openai"}
    if 100_000 in peaks and 1_000_000 in peaks:
        return f"{peaks[1_000_000] - peaks[100_000]:+.0f} MB"
    return None


def phase_table(results: list[CaseResult]) -> BenchResult:
    table = BenchResult("Whole jobs: where batchgraph run spends its time (share of wall time)")
    for case in results:
        total = case.ours.seconds
        shares = ", ".join(
            f"{phase} {case.phases[phase]:.1f} s ({case.phases[phase] / total:.0%})"
            for phase in ORDER
            if case.phases[phase] >= 0.05
        )
        table.rows.append((f"{case.provider} {case.requests:,}", shares))
    return table


def run(quick: bool = False, cases: tuple[tuple[str, int], ...] = ()) -> list[BenchResult]:
    results = []
    for provider, requests in cases or (QUICK_CASES if quick else CASES):
        print(f"  {provider} {requests:,} …", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
            results.append(run_case(provider, requests, Path(tmp)))
    return [summary(results), phase_table(results)]


def main() -> None:
    """`--quick`, or cases such as `openai:100000 mistral:10000`."""
    args = sys.argv[1:]
    cases = tuple((a.split(":")[0], int(a.split(":")[1])) for a in args if ":" in a)
    for result in run(quick="--quick" in args, cases=cases):
        print(result.title)
        for metric, value in result.rows:
            print(f"  {metric:<58} {value}")


if __name__ == "__main__":
    main()
