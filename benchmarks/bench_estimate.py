"""The cost estimate against what jobs cost on the sandbox, and how long a dry run of a large
input takes.

Three shapes of job over the demo's reviews (schema labels, short free text, long summaries
under `--max-tokens 40`) on each sandbox provider: 200 reviews are run, then a different 200
are estimated from that history alone and run; a 600-review job is estimated from
`--estimate-sample 50` and run. Each cell is estimate / actual batch cost, and the input tokens
estimated against those billed. Then `submit --dry-run` of a 1,000,000-request input
(100,000 with `--quick`) with OpenAI's tokenizer, in a fresh process, spawn to exit.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.job_inputs import write_openai_input
from benchmarks.processes import BATCHGRAPH, measure
from tests.job_shapes import SHAPES, reviews_slice, shapes

MODELS = {
    "sandbox-openai": "gpt-4o-mini",
    "sandbox-anthropic": "claude-haiku-4-5",
    "sandbox-mistral": "mistral-small-latest",
}


@dataclass
class BenchResult:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


def accuracy(home: Path, work: Path) -> BenchResult:
    from batchgraph.api import Batchgraph
    from batchgraph.estimate import estimate_job
    from batchgraph.estimate_sample import run_sample
    from batchgraph.runner.loop import Backoff, run_job

    result = BenchResult("Cost estimate: estimate / actual on the sandbox")
    first = reviews_slice(work, "first.csv", 0, 200)
    second = reviews_slice(work, "second.csv", 1000, 200)
    big = reviews_slice(work, "big.csv", 0, 600)
    with Batchgraph.open() as bg:

        def actual(source: Path, provider: str, options: object) -> tuple[float, int]:
            job_id = bg.submit(source, provider=provider, options=options, new=True)  # type: ignore[arg-type]
            report = run_job(bg, job_id, Backoff(initial=0.0, cap=0.0)).job.report
            assert report is not None and report["accounted"]
            return float(report["batch_usd"]), int(report["models"][0]["input_tokens"])

        for shape in SHAPES:
            for provider, model in MODELS.items():
                options = shapes(model)[shape]
                actual(first, provider, options)
                from_history = estimate_job(second, provider, options, bg.jobs(), data_dir=home)
                cost, billed = actual(second, provider, options)
                sample = run_sample(big, provider, options, 50, home)
                sampled = estimate_job(big, provider, options, [], sample, data_dir=home)
                cost_big, billed_big = actual(big, provider, options)
                name = provider.removeprefix("sandbox-")
                result.rows.append(
                    (
                        f"{shape}, {name}: history / sample (input tokens)",
                        f"{(from_history.batch_usd or 0) / cost:.2f}× / "
                        f"{(sampled.batch_usd or 0) / cost_big:.2f}× "
                        f"({from_history.input_tokens / billed:.3f}×, "
                        f"{sampled.input_tokens / billed_big:.3f}×; "
                        f"{from_history.input_method})",
                    )
                )
    return result


def dry_run_time(work: Path, requests: int) -> BenchResult:
    source = work / "large.jsonl"
    write_openai_input(source, requests, "gpt-4o-mini")
    command = [BATCHGRAPH, "submit", str(source), "-p", "sandbox-openai", "--dry-run"]
    run = measure(command, {**os.environ, "COLUMNS": "200"}, work)
    text = " ".join(run.stdout.split())  # the table's caption wraps
    method = text[text.index("input tokens: ") : text.index(" output estimated")]
    return BenchResult(
        f"Cost estimate: dry run of {requests:,} requests",
        [
            ("wall time, spawn to exit", f"{run.seconds:.1f} s"),
            ("CPU time", f"{run.cpu_seconds:.1f} s"),
            ("peak memory", f"{run.peak_mb:.0f} MB"),
            ("input counted with", method.strip()),
        ],
    )


def run(quick: bool = False) -> list[BenchResult]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        home = work / "home"
        from batchgraph.sandbox.config import SandboxConfig
        from batchgraph.sandbox.context import SandboxContext
        from batchgraph.sandbox.storage import SandboxStore

        SandboxContext(SandboxStore(home / "sandbox"), SandboxConfig.instant()).save_config()
        os.environ["BATCHGRAPH_HOME"] = str(home)
        return [accuracy(home, work), dry_run_time(work, 100_000 if quick else 1_000_000)]


if __name__ == "__main__":
    for result in run():
        print(result.title)
        for metric, value in result.rows:
            print(f"  {metric:<60} {value}")
