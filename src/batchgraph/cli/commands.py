"""The job commands. Each parses its arguments and makes one library call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchgraph.cli.output import console, err_console, friendly, usd
from batchgraph.errors import ConfigError
from batchgraph.providers import registry

if TYPE_CHECKING:
    from batchgraph.api import Batchgraph
    from batchgraph.estimate import Estimate
    from batchgraph.execution import Execution

# Each command imports what it uses when it runs: `status` and `list` must start fast, and
# LangGraph, the provider SDKs and pyarrow take a second to import.

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="BATCHGRAPH_DB",
        help="SQLite file or postgresql:// URL. Default: .batchgraph/batchgraph.db",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
JobArg = Annotated[str, typer.Argument(help="The job id that `submit` printed.")]


def _open(db: str | None) -> Batchgraph:
    from batchgraph.api import Batchgraph
    from batchgraph.runner.memory import use_one_malloc_arena

    use_one_malloc_arena()  # before any thread starts: see runner.memory
    return Batchgraph.open(db)


def _open_existing(db: str | None) -> Batchgraph | None:
    """The store for a command that only reads it, or None when there is none yet: reading
    never creates a `.batchgraph/` folder as a side effect."""
    from batchgraph.deps import store_location
    from batchgraph.store.location import is_postgres_url

    location = store_location(db)
    if is_postgres_url(location) or Path(location).exists():
        return _open(db)
    return None


def _open_for_job(db: str | None, job: str) -> Batchgraph:
    """The existing store, for reading one job; a missing store is a job not found there."""
    from batchgraph.deps import store_location
    from batchgraph.errors import JobNotFound

    found = _open_existing(db)
    if found is None:
        raise JobNotFound(job, f"{store_location(db)}, which does not exist")
    return found


def _no_database(db: str | None, as_json: bool) -> None:
    from batchgraph.deps import store_location

    if as_json:
        return _print_json([])
    console.print(f"no jobs: there is no database at {store_location(db)} yet (submit makes one)")


def job_command(wait: bool) -> Any:
    """`submit` (wait=False) and `run` (wait=True) share every option."""

    @friendly
    def command(
        file: Annotated[
            Path | None,
            typer.Argument(help="Input: .jsonl (plain or OpenAI batch format), .csv or .parquet."),
        ] = None,
        provider: Annotated[
            str | None,
            typer.Option(
                "--provider",
                "-p",
                envvar="BATCHGRAPH_PROVIDER",
                help=f"{', '.join(registry.real_names())} — or sandbox-NAME (sandbox-openai, "
                "…) to try everything offline.",
            ),
        ] = None,
        base_url: Annotated[
            str | None,
            typer.Option(
                "--base-url",
                help="openai-compatible: your server's address (http://localhost:8000/v1 for "
                "vLLM, http://localhost:11434/v1 for Ollama), as --provider or as "
                "--hedge-provider; kept with the job.",
            ),
        ] = None,
        api_key_env: Annotated[
            str | None,
            typer.Option(
                "--api-key-env",
                help="openai-compatible: the environment variable holding your server's key, "
                "if it needs one (its name is kept with the job, never the key).",
            ),
        ] = None,
        model: Annotated[
            str | None, typer.Option("--model", "-m", help="Model for lines that name none.")
        ] = None,
        prompt_template: Annotated[
            str | None,
            typer.Option(help="For tables: the prompt, with {column} placeholders."),
        ] = None,
        id_column: Annotated[
            str | None,
            typer.Option(help="For tables: the column holding ids (default: row number)."),
        ] = None,
        system: Annotated[str | None, typer.Option(help="System prompt for every request.")] = None,
        json_schema: Annotated[
            Path | None,
            typer.Option(help="A JSON schema file: answers come back as JSON that follows it."),
        ] = None,
        max_tokens: Annotated[int | None, typer.Option(help="Answer length limit.")] = None,
        temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
        param: Annotated[
            list[str] | None,
            typer.Option(
                "--param",
                help="A request option for every line, KEY=VALUE with a JSON value "
                "(--param top_p=0.9 --param 'stop=[\"END\"]'); repeatable; values on a line "
                "win. Fields: docs/request-fields.md.",
            ),
        ] = None,
        embeddings: Annotated[
            bool, typer.Option("--embeddings", help="Embed the prompts instead of chatting.")
        ] = False,
        name: Annotated[str | None, typer.Option(help="A name to find the job by.")] = None,
        new: Annotated[
            bool,
            typer.Option(
                "--new",
                help="Make a new job even if this input was submitted before with the same "
                "provider and options (by default that job is returned, not paid again).",
            ),
        ] = False,
        no_cache: Annotated[
            bool,
            typer.Option(
                "--no-cache",
                help="Send every request, even one an earlier job answered or one repeated in "
                "this file (by default those are answered once, at no cost): fresh samples.",
            ),
        ] = False,
        batch_size: Annotated[
            int | None,
            typer.Option(help="At most this many requests per provider batch (default: its cap)."),
        ] = None,
        max_enqueued_tokens: Annotated[
            int | None,
            typer.Option(
                help="Keep at most this many prompt tokens in flight (the provider's "
                "enqueued-token quota): later batches wait for earlier ones to end."
            ),
        ] = None,
        max_attempts: Annotated[
            int, typer.Option(help="Sends per request, first one included, before giving up.")
        ] = 3,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Validate and estimate cost; send nothing.")
        ] = False,
        approve: Annotated[
            bool,
            typer.Option(
                "--approve", help="Show the estimated cost and ask before sending anything."
            ),
        ] = False,
        max_cost: Annotated[
            float | None,
            typer.Option(
                help="Refuse the job if its estimated batch cost is above this (USD); the "
                "central estimate is compared (see --dry-run for the range)."
            ),
        ] = None,
        max_cost_strict: Annotated[
            bool,
            typer.Option(
                "--max-cost-strict",
                help="With --max-cost: compare the top of the estimate's range instead.",
            ),
        ] = False,
        estimate_sample: Annotated[
            int | None,
            typer.Option(
                "--estimate-sample",
                help="With --dry-run, --approve or --max-cost: answer N requests drawn at "
                "random now, at the synchronous price, to estimate answer lengths.",
            ),
        ] = None,
        job: Annotated[
            str | None, typer.Option("--job", help="run: resume this job instead of a new file.")
        ] = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "--output", "-o", help="run: write results here (.jsonl, .csv, .parquet)."
            ),
        ] = None,
        poll_max: Annotated[
            float, typer.Option(help="run: longest pause between checks, in seconds.")
        ] = 60.0,
        mode: Annotated[
            str,
            typer.Option(
                help="batch (half price, minutes to hours) or sync (one call per request, at "
                "the synchronous price). Hosts without a Batch API always run sync."
            ),
        ] = "batch",
        concurrency: Annotated[
            int | None, typer.Option(help="sync: calls in flight at once (default: the host's).")
        ] = None,
        rpm: Annotated[
            float | None, typer.Option(help="sync: at most this many requests per minute.")
        ] = None,
        tpm: Annotated[
            float | None, typer.Option(help="sync: at most about this many tokens per minute.")
        ] = None,
        deadline: Annotated[
            str | None,
            typer.Option(
                help="Finish by then: a duration (2h, 90m) or a time (2026-12-01T09:00). "
                "Batches still running near it are cancelled, what they finished is kept and "
                "the rest is sent synchronously."
            ),
        ] = None,
        hedge_margin: Annotated[
            str | None,
            typer.Option(
                help="With --deadline: how long before it to hedge (10m, 90s; default: a "
                "tenth of the time left, at least a minute)."
            ),
        ] = None,
        hedge_provider: Annotated[
            str | None,
            typer.Option(
                help="With --deadline: send the hedge to this provider (one with a "
                "synchronous API; default: the job's own)."
            ),
        ] = None,
        db: DbOpt = None,
    ) -> None:
        from batchgraph.io import ReadOptions
        from batchgraph.io.options import parse_params
        from batchgraph.model import Kind

        if not wait and (job or output):
            raise ConfigError("--job and --output belong to `batchgraph run`")
        if output is not None:
            from batchgraph.io import check_output_path

            if str(output) == "-":
                raise ConfigError(
                    "run prints its progress on standard output: give -o a file, or write the "
                    "results to standard output afterwards with `batchgraph results JOB -o -`"
                )
            check_output_path(output)  # before anything is sent, not after the job has run
        if job is not None and (base_url or api_key_env):
            raise ConfigError(
                "--base-url and --api-key-env belong to a new job; a job resumed with --job "
                "reaches the server it was submitted to"
            )
        if provider is not None:
            from batchgraph.jobs import address_holder
            from batchgraph.providers.settings import HostAddress, check_address

            # an unknown name, or an address where none belongs (or none where one is
            # needed), is refused before anything is opened
            holder = address_holder(provider, hedge_provider)
            check_address(holder, HostAddress(base_url, api_key_env))
        with _open(db) as bg:
            if job is None:
                if file is None:
                    raise ConfigError("give an input FILE (or --job JOB to resume a job)")
                if provider is None:
                    raise ConfigError(
                        f"choose a provider with --provider: {', '.join(registry.names())} "
                        f"(the {registry.SANDBOX_PREFIX}… ones run offline)"
                    )
                options = ReadOptions(
                    model=model,
                    system=system,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    template=prompt_template,
                    id_column=id_column,
                    kind=Kind.EMBEDDING if embeddings else None,
                    params=parse_params(param or []),
                )
                if json_schema is not None:
                    options = options.with_schema_file(json_schema)
                if estimate_sample is not None and not (dry_run or approve or max_cost is not None):
                    raise ConfigError(
                        "--estimate-sample improves an estimate: add --dry-run, --approve "
                        "or --max-cost"
                    )
                if dry_run or approve or max_cost is not None:
                    # The estimate reads the whole input; without a use for it, submit's own
                    # validation is the only pass before the ledger is written.
                    from batchgraph.cli.estimate import estimate_table, guard_cost
                    from batchgraph.estimate import check_max_cost
                    from batchgraph.estimate_reuse import ReuseForecast

                    check_max_cost(max_cost)
                    estimate = guard_cost(
                        file,
                        provider,
                        options,
                        max_cost,
                        strict=max_cost_strict,
                        history=bg.jobs(),
                        sample=_sample(
                            file, provider, options, estimate_sample, bg, (base_url, api_key_env)
                        ),
                        data_dir=bg.deps.data_dir,
                        reuse=None if no_cache else ReuseForecast(bg.store, provider),
                    )
                    if dry_run:
                        console.print(estimate_table(estimate))
                        return
                    if approve:
                        _ask_approval(estimate)
                execution = execution_from_options(
                    mode, concurrency, rpm, tpm, deadline, hedge_margin, hedge_provider
                )
                found = None
                if not new:
                    found = bg.existing_job(
                        file,
                        provider=provider,
                        options=options,
                        execution=execution,
                        base_url=base_url,
                        cache=not no_cache,
                    )
                if found is not None:
                    _say_already_submitted(found.id, wait)
                    job = found.id
                    if not wait:
                        console.print(job)
                        return
                else:
                    job = bg.create(
                        file,
                        provider=provider,
                        options=options,
                        name=name,
                        max_attempts=max_attempts,
                        batch_size=batch_size,
                        max_enqueued_tokens=max_enqueued_tokens,
                        new=True,
                        execution=execution,
                        base_url=base_url,
                        api_key_env=api_key_env,
                        cache=not no_cache,
                    )
                    _first_step(bg, job, wait, output, db, poll_max)
                if not wait:
                    console.print(job)
                    console.print(
                        f"[dim]submitted; check with [bold]batchgraph status {job}[/], "
                        f"collect with [bold]batchgraph collect {job}[/][/]",
                        highlight=False,
                    )
                    return
            _wait(bg, job, output, db, poll_max)

    return command


def _ask_approval(estimate: Estimate) -> None:
    """`--approve`: the estimate, then a question; no sends nothing and exits 1."""
    from batchgraph.cli.estimate import estimate_table

    console.print(estimate_table(estimate, title="Estimate: nothing was sent yet"))
    if not typer.confirm("Submit this job at this estimated cost?", default=False):
        err_console.print("not approved; nothing was sent")
        raise typer.Exit(1)


def execution_from_options(
    mode: str,
    concurrency: int | None,
    rpm: float | None,
    tpm: float | None,
    deadline: str | None = None,
    hedge_margin: str | None = None,
    hedge_provider: str | None = None,
) -> Execution:
    """The `--mode`, rate and deadline options as one `Execution`, each checked (the
    deadline against the clock and the hosts when the job is created)."""
    from batchgraph.execution import Execution
    from batchgraph.store.base import ChunkMode

    if mode not in ("batch", "sync"):
        raise ConfigError(f"--mode {mode!r} is not known; choose batch or sync")
    for option, value in (("--concurrency", concurrency), ("--rpm", rpm), ("--tpm", tpm)):
        if value is not None and value <= 0:
            raise ConfigError(f"{option} must be above 0, not {value}")
    if deadline is None:
        if hedge_margin is not None or hedge_provider is not None:
            raise ConfigError("--hedge-margin and --hedge-provider need a --deadline; add one")
        hedged = Execution()
    else:
        if hedge_provider is not None:
            registry.split_name(hedge_provider)  # an unknown name is refused now
        hedged = Execution.by_deadline(deadline, margin=hedge_margin, hedge_provider=hedge_provider)
    return Execution(
        mode=ChunkMode(mode),
        concurrency=concurrency,
        requests_per_minute=rpm,
        tokens_per_minute=tpm,
        deadline=hedged.deadline,
        hedge_margin=hedged.hedge_margin,
        hedge_provider=hedged.hedge_provider,
    )


def _sample(
    file: Path,
    provider: str,
    options: Any,
    count: int | None,
    bg: Batchgraph,
    address: tuple[str | None, str | None] = (None, None),
) -> Any:
    """`--estimate-sample`: N requests answered now (on the server `address` names, for
    openai-compatible), or None."""
    if count is None:
        return None
    if count < 1:
        raise ConfigError("--estimate-sample takes a number of requests, 1 or more")
    from batchgraph.estimate_sample import run_sample
    from batchgraph.providers import HostAddress

    return run_sample(file, provider, options, count, bg.deps.data_dir, HostAddress(*address))


def _say_already_submitted(job_id: str, wait: bool) -> None:
    then = "resuming it" if wait else f"results with 'batchgraph results {job_id}'"
    err_console.print(
        f"already submitted as job {job_id} — {then}; pass --new to run it again",
        highlight=False,
    )


def _first_step(
    bg: Batchgraph, job_id: str, wait: bool, output: Path | None, db: str | None, poll_max: float
) -> None:
    """Send a new job's first batches, waiting out a provider unavailable for now as later
    steps do; from here on, every way out names the job."""
    from batchgraph.cli.resume import naming_the_job, resume_command, waiting_note
    from batchgraph.runner.loop import Backoff, take_first_step

    if wait:
        console.print(f"job {job_id}", highlight=False)
    resume = resume_command(job_id, _text(output), db)
    with naming_the_job(job_id, resume):
        take_first_step(bg, job_id, Backoff(initial=0.5, cap=poll_max), waiting_note(job_id))


def _wait(
    bg: Batchgraph, job_id: str, output: Path | None, db: str | None, poll_max: float
) -> None:
    from batchgraph.cli.progress import JobProgress
    from batchgraph.cli.resume import naming_the_job, resume_command, waiting_note
    from batchgraph.runner.loop import Backoff, run_job

    view = bg.view(job_id)
    with naming_the_job(job_id, resume_command(job_id, _text(output), db)):
        with JobProgress(job_id, view.job.total) as progress:
            backoff = Backoff(initial=0.5, cap=poll_max)
            view = run_job(bg, job_id, backoff, progress, on_unavailable=waiting_note(job_id))
        _print_report(bg, job_id)
        if output is not None:
            path = bg.write_results(job_id, output)
            console.print(f"results: {path}")


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _print_report(bg: Batchgraph, job_id: str) -> None:
    from rich.panel import Panel

    from batchgraph.cli.views import cost_summary, counts_table

    view = bg.view(job_id)
    report = bg.report(job_id)
    console.print(counts_table(view))
    verdict = (
        "every request accounted for" if report["accounted"] else "[red]counts do not add up[/]"
    )
    console.print(Panel.fit(f"{verdict}; {cost_summary(report)}", title=f"job {job_id}"))
    foreign = report.get("foreign_lines", 0), report.get("foreign_batches", 0)
    if any(foreign):
        console.print(
            f"[yellow]ignored {foreign[0]:,} result lines and {foreign[1]:,} batches that "
            "belonged to another job[/]"
        )


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

    reading = _open_existing(db) if job is None else _open_for_job(db, job)
    if reading is None:
        return _no_database(db, as_json)
    with reading as bg:
        if job is None:
            if as_json:
                return _print_json([to_json(record) for record in bg.jobs()])
            console.print(jobs_table(bg.jobs()))
            return
        view = bg.view(job)
        if as_json:
            return _print_json(
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

    reading = _open_existing(db)
    if reading is None:
        return _no_database(db, as_json)
    with reading as bg:
        if as_json:
            return _print_json([to_json(record) for record in bg.jobs()])
        console.print(jobs_table(bg.jobs()))


def _print_json(value: object) -> None:
    """Plain JSON on standard output, for scripts (no colours, no wrapping)."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@friendly
def collect(job: JobArg, db: DbOpt = None) -> None:
    """One step: check the job's batches and collect what is ready (returns at once)."""
    from batchgraph.cli.views import chunks_table, counts_table

    with _open(db) as bg:
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
    with _open_for_job(db, job) as bg:
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

    with _open(db) as bg:
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

    with _open_for_job(db, job) as bg:
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

    with _open(db) as bg:
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
