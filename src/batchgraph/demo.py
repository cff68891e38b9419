"""`make demo`: classify 3,000 synthetic reviews on every provider through the sandbox, run a
two-step LangGraph flow at batch price, and finish a straggling batch by its deadline.

It uses the real two-phase flow in separate processes — `batchgraph submit` returns a job id at
once, `batchgraph run --job` picks the job up later and waits — exactly as a user would against
the real providers, with the offline sandbox standing in for them (its answers are synthetic).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from batchgraph.api import Batchgraph
from batchgraph.cli.output import usd
from batchgraph.providers.registry import SANDBOX_PREFIX, SPECS
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore

MODELS = {SANDBOX_PREFIX + spec.name: spec.example_model for spec in SPECS if spec.features.batch}
"""Every provider with a Batch API in the registry, on the sandbox, with its example model."""
PROMPT = (
    "Classify this review of a {product}: sentiment, topic, and whether it needs a reply.\n\n{text}"
)
SYSTEM = "You label customer reviews for a support team."

console = Console(width=None if sys.stdout.isatty() else 110)


def demo_sandbox_config() -> SandboxConfig:
    """A provider hour passes in three seconds; 2% of requests fail once, to show retries."""
    return SandboxConfig(time_scale=1200.0, processing_seconds=3600.0, failure_rate=0.02)


def batchgraph(*args: str, env: dict[str, str]) -> str:
    """Run the CLI as a user would, echoing the command; return what it printed."""
    console.print(f"\n[bold cyan]$ batchgraph {' '.join(args)}[/]", highlight=False)
    done = subprocess.run(
        [sys.executable, "-m", "batchgraph", *args], env=env, text=True, stdout=subprocess.PIPE
    )
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        raise SystemExit(f"batchgraph {args[0]} failed with exit code {done.returncode}")
    return done.stdout


def main(workdir: Path = Path("demo-output"), rows: int | None = None) -> None:
    """The whole demo in `workdir`; `rows` keeps only the first reviews (the test's short run)."""
    shutil.rmtree(workdir, ignore_errors=True)
    home = workdir / ".batchgraph"
    SandboxContext(SandboxStore(home / "sandbox"), demo_sandbox_config()).save_config()
    data = resources.files("batchgraph") / "data"
    reviews = workdir / "reviews.csv"
    schema = workdir / "review_labels.schema.json"
    lines = (data / "reviews.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines = lines if rows is None else lines[: rows + 1]  # the header and `rows` reviews
    reviews.write_text("".join(lines), encoding="utf-8")
    count = len(lines) - 1
    schema.write_bytes((data / "review_labels.schema.json").read_bytes())
    env = {**os.environ, "BATCHGRAPH_HOME": str(home), "COLUMNS": "110"}
    env.pop("BATCHGRAPH_DB", None)

    console.rule(
        f"[bold]batchgraph demo: {count:,} reviews × {len(MODELS)} providers, offline sandbox"
    )
    jobs: dict[str, str] = {}
    for provider, model in MODELS.items():
        out = batchgraph(
            "submit", str(reviews), "--provider", provider, "--model", model,
            "--prompt-template", PROMPT, "--system", SYSTEM, "--id-column", "review_id",
            "--json-schema", str(schema), "--max-tokens", "100", "--name", f"reviews-{provider}",
            env=env,
        )  # fmt: skip
        jobs[provider] = out.split()[0]
    batchgraph("status", env=env)
    for provider, job_id in jobs.items():
        out_file = workdir / f"results-{provider.removeprefix(SANDBOX_PREFIX)}.jsonl"
        batchgraph("run", "--job", job_id, "-o", str(out_file), "--poll-max", "2", env=env)
    summarise(home, jobs, workdir)
    flow_demo(reviews, workdir, env, count=min(count, 1000))
    deadline_demo(reviews, schema, home, env)


def flow_demo(reviews: Path, workdir: Path, env: dict[str, str], count: int = 1000) -> None:
    """A LangGraph graph of two model steps over `count` reviews, every call at batch price."""
    console.rule(f"[bold]your own graph at batch price: a two-step flow over {count:,} reviews")
    states = workdir / "review-states.jsonl"
    with reviews.open(newline="", encoding="utf-8") as source, states.open("w") as out:
        for row, _ in zip(csv.DictReader(source), range(count), strict=False):
            out.write(json.dumps({"id": row["review_id"], "text": row["text"]}) + "\n")
    results = workdir / "flow-results.jsonl"
    batchgraph(
        "flow", "run", "batchgraph.demo_flow:graph", str(states), "--provider", "sandbox-openai",
        "--model", "gpt-4o-mini", "-o", str(results), "--poll-max", "2", env=env,
    )  # fmt: skip
    with results.open(encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    console.print(
        f"  {first['id']}: {first['llm_calls']} model calls, label "
        f"{json.dumps(first['state']['label'])}",
        highlight=False,
    )


def deadline_demo(reviews: Path, schema: Path, home: Path, env: dict[str, str]) -> None:
    """A job with a deadline whose batch straggles: a tenth of its requests never finish, so
    at the deadline minus its margin the batch is cancelled, what it finished is kept and the
    rest is answered by synchronous calls."""
    console.rule("[bold]a deadline: stragglers finished on the synchronous API")
    context = SandboxContext(SandboxStore(home / "sandbox"), demo_sandbox_config())
    context.configure(straggle_rate=0.1)
    context.save_config()  # batches created from now on keep a tenth of their requests
    console.print(
        "A tenth of this batch's requests never finish. The deadline is 40 s away; 30 s before "
        "it the batch is cancelled, what it finished is kept, and the rest is answered by "
        "synchronous calls at the synchronous price. (--no-cache: the same reviews were answered "
        "above, and the result cache would otherwise answer every one of them at $0.)",
        highlight=False,
    )
    try:
        batchgraph(
            "run", str(reviews), "--provider", "sandbox-openai", "--model", "gpt-4o-mini",
            "--prompt-template", PROMPT, "--system", SYSTEM, "--id-column", "review_id",
            "--json-schema", str(schema), "--max-tokens", "100", "--name", "reviews-deadline",
            "--deadline", "40s", "--hedge-margin", "30s", "--poll-max", "1", "--new", "--no-cache",
            env=env,
        )  # fmt: skip
    finally:
        SandboxContext(SandboxStore(home / "sandbox"), demo_sandbox_config()).save_config()


def summarise(home: Path, jobs: dict[str, str], workdir: Path) -> None:
    table = Table(title="Every request accounted for", title_justify="left")
    for column in ("provider", "requests", "succeeded", "failed", "batches", "resent"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    for column in ("batch cost", "sync cost", "saved"):
        table.add_column(column, justify="right")
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        for provider, job_id in jobs.items():
            report = bg.store.get_job(job_id).report or {}
            counts = report.get("counts", {})
            table.add_row(
                provider.removeprefix(SANDBOX_PREFIX),
                f"{report.get('total', 0):,}",
                f"{counts.get('succeeded', 0):,}",
                f"{sum(n for s, n in counts.items() if s != 'succeeded'):,}",
                str(report.get("batches")),
                f"{report.get('resent', 0):,}",
                usd(report.get("batch_usd")),
                usd(report.get("sync_usd")),
                usd(report.get("saving_usd")),
            )
    console.rule("[bold]report")
    console.print(table)
    sample = workdir / "results-openai.jsonl"
    console.print(f"\nFirst answers from {sample} (synthetic, from the sandbox):")
    with sample.open(encoding="utf-8") as handle:
        for line, _ in zip(handle, range(3), strict=False):
            record = json.loads(line)
            answer = json.dumps(record.get("result_parsed"))  # a CSV's results: result_ columns
            console.print(f"  {record['result_id']}: {answer}", highlight=False)


if __name__ == "__main__":
    main()
