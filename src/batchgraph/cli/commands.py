"""The job commands that read or move a job on: status, list, collect, results, cancel,
cost and worker (`submit` and `run` are in `cli.submit_cmd`). Each parses its arguments and
makes one library call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from batchgraph.cli.opening import (
    DbOpt,
    JobArg,
    JsonOpt,
    no_database,
    open_existing,
    open_for_job,
    open_store,
    print_json,
)
from batchgraph.cli.output import console, err_console, friendly, usd
from batchgraph.errors import ConfigError

# Each command imports what it uses when it runs: `status` and `list` must start fast, and
# LangGraph, the provider SDKs and pyarrow take a second to import.


@friendly
def status(
    job: Annotated[str | None, typer.Argument(help="A job id; without it, all jobs.")] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """All jobs as a table, or one job's batches, request counts and cost."""
    from batchgraph.cli.views import (
        chunks_table,
        cost_table,
        counts_table,
        deadline_lines,
        jobs_table,
        reuse_summary,
        to_json,
    )

    reading = open_existing(db) if job is None else open_for_job(db, job)
    if reading is None:
        return no_database(db, as_json)
    with reading as bg:
        if job is None:
            if as_json:
                return print_json([to_json(record) for record in bg.jobs()])
            console.print(jobs_table(bg.jobs()))
            return
        view = bg.view(job)
        if as_json:
            return print_json(
                {
                    "job": to_json(view.job),
                    "chunks": [to_json(chunk) for chunk in view.chunks],
                    "counts": view.counts,
                    "report": bg.report(job),
                }
            )
        head = view.job
        console.print(f"[bold]{head.id}[/] {head.name} · {head.provider} · {head.status.value}")
        console.print(chunks_table(view))
        console.print(counts_table(view))
        report = bg.report(job)
        console.print(cost_table(report))
        for line in deadline_lines(head, report):
            console.print(line, highlight=False)
        if reused := reuse_summary(report):
            console.print(reused.strip(), highlight=False)


@friendly
def list_jobs(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """All jobs, newest first."""
    from batchgraph.cli.views import jobs_table, to_json

    reading = open_existing(db)
    if reading is None:
        return no_database(db, as_json)
    with reading as bg:
        if as_json:
            return print_json([to_json(record) for record in bg.jobs()])
        console.print(jobs_table(bg.jobs()))


@friendly
def collect(job: JobArg, db: DbOpt = None) -> None:
    """One step: check the job's batches and collect what is ready (returns at once)."""
    from batchgraph.cli.views import chunks_table, counts_table

    with open_store(db) as bg:
        bg.tick(job)
        view = bg.view(job)
        console.print(chunks_table(view))
        console.print(counts_table(view))
        if view.finished:
            console.print(
                f"[green]done.[/] write the results with: batchgraph results {job} -o out.jsonl"
            )


@friendly
def results(
    job: JobArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where: .jsonl, .csv or .parquet; - for JSONL on stdout."
        ),
    ],
    results_format: Annotated[
        str,
        typer.Option(
            "--results-format",
            help="batchgraph (one flat record per input) or openai (OpenAI's batch output "
            "lines, JSONL, for parsers written for OpenAI).",
        ),
    ] = "batchgraph",
    db: DbOpt = None,
) -> None:
    """Write one record per input, in input order, errors included."""
    to_stdout = str(output) == "-"
    notes = err_console if to_stdout else console  # stdout carries the records alone
    with open_for_job(db, job) as bg:
        view = bg.view(job)
        if not view.finished:
            notes.print(
                "[yellow]the job is not finished; unfinished requests are written as queued[/]"
            )
        path = bg.write_results(job, output, results_format=results_format)
        if not to_stdout:
            console.print(f"results: {path}")


@friendly
def cancel(job: JobArg, db: DbOpt = None) -> None:
    """Cancel the job's batches; what already finished is still collected."""
    from batchgraph.cli.views import chunks_table

    with open_store(db) as bg:
        view = bg.cancel(job)
        console.print(chunks_table(view))
        console.print(f"cancelling; run [bold]batchgraph collect {job}[/] to collect what finished")


@friendly
def cost(
    job: JobArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """The job's cost at batch price against the synchronous price, and the saving."""
    from datetime import date

    from batchgraph.cli.views import cost_table, deadline_lines, reuse_summary
    from batchgraph.pricing.freshness import price_sources, stale_price_warnings

    with open_for_job(db, job) as bg:
        report = bg.report(job)
        if as_json:
            console.print_json(json.dumps(report))
            return
        console.print(cost_table(report))
        console.print(f"saved {usd(report['saving_usd'])} against synchronous calls")
        for line in deadline_lines(bg.store.get_job(job), report):
            console.print(line, highlight=False)
        if reused := reuse_summary(report):
            console.print(reused.strip(), highlight=False)
        for line in price_sources(report["models"]):
            console.print(f"[dim]priced from {line}[/]", highlight=False)
        for warning in stale_price_warnings(report["models"], date.today()):
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


@friendly
def worker(
    interval: Annotated[float, typer.Option(help="Seconds between passes over the jobs.")] = 30.0,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Stop once every job is finished.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Serve every open job: check, collect and retry each one, again and again.

    Run one (or several, on PostgreSQL) under a process manager instead of calling `collect`
    from cron. Ctrl-C stops it; jobs are safe at any moment.
    """
    from batchgraph.runner.worker import WorkerPass, serve

    def report(done: WorkerPass) -> None:
        for job_id in done.finished:
            console.print(f"[green]finished[/] {job_id}")
        for job_id, error in done.waiting.items():
            console.print(f"[yellow]will retry[/] {job_id}: {error}", highlight=False)
        for job_id, error in done.unservable.items():
            console.print(f"[red]skipped[/] {job_id}: {error}", highlight=False)

    with open_store(db) as bg:
        try:
            last = serve(bg, interval, report, until_idle=until_idle)
        except KeyboardInterrupt:
            console.print("stopped; every job is safe")
            return
    if last.unservable:
        raise ConfigError(
            f"every other job is finished; {len(last.unservable)} could not be served "
            f"({', '.join(sorted(last.unservable))}): fix what each message above names, then "
            "run the worker again"
        )
