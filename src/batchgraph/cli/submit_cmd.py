"""`batchgraph submit` and `batchgraph run`: one set of options, a new job or a resumed one.

Every flag is checked, and the input read and priced when asked, before anything is sent; a
job submitted before with the same input and options is found instead of paid again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from batchgraph.cli.opening import DbOpt, open_store
from batchgraph.cli.output import console, err_console, friendly
from batchgraph.cli.submit_options import (
    ApiKeyEnvOpt,
    ApproveOpt,
    AttemptsOpt,
    BaseUrlOpt,
    BatchSizeOpt,
    ConcurrencyOpt,
    DeadlineOpt,
    DryRunOpt,
    EmbeddingsOpt,
    EnqueuedOpt,
    FileArg,
    HedgeMarginOpt,
    HedgeProviderOpt,
    IdColumnOpt,
    JobOpt,
    MaxCostOpt,
    MaxTokensOpt,
    ModelOpt,
    ModeOpt,
    NameOpt,
    NewOpt,
    NoCacheOpt,
    OutputOpt,
    ParamOpt,
    PollMaxOpt,
    ProviderOpt,
    RpmOpt,
    SampleOpt,
    SchemaOpt,
    StrictOpt,
    SystemOpt,
    TemperatureOpt,
    TemplateOpt,
    TpmOpt,
)
from batchgraph.errors import ConfigError
from batchgraph.providers import registry

if TYPE_CHECKING:
    from batchgraph.api import Batchgraph
    from batchgraph.estimate import Estimate
    from batchgraph.execution import Execution
    from batchgraph.io import ReadOptions


@dataclass(frozen=True, slots=True)
class Pricing:
    """The flags that price a job before it is sent."""

    dry_run: bool
    approve: bool
    max_cost: float | None
    strict: bool
    sample: int | None

    @property
    def wanted(self) -> bool:
        return self.dry_run or self.approve or self.max_cost is not None


@dataclass(frozen=True, slots=True)
class NewJob:
    """A new job as the flags describe it, checked."""

    file: Path
    provider: str
    options: ReadOptions
    execution: Execution
    base_url: str | None
    api_key_env: str | None
    name: str | None
    max_attempts: int
    batch_size: int | None
    max_enqueued_tokens: int | None
    cache: bool


def job_command(wait: bool) -> Any:
    """`submit` (wait=False) and `run` (wait=True) share every option."""

    @friendly
    def command(
        file: FileArg = None,
        provider: ProviderOpt = None,
        base_url: BaseUrlOpt = None,
        api_key_env: ApiKeyEnvOpt = None,
        model: ModelOpt = None,
        prompt_template: TemplateOpt = None,
        id_column: IdColumnOpt = None,
        system: SystemOpt = None,
        json_schema: SchemaOpt = None,
        max_tokens: MaxTokensOpt = None,
        temperature: TemperatureOpt = None,
        param: ParamOpt = None,
        embeddings: EmbeddingsOpt = False,
        name: NameOpt = None,
        new: NewOpt = False,
        no_cache: NoCacheOpt = False,
        batch_size: BatchSizeOpt = None,
        max_enqueued_tokens: EnqueuedOpt = None,
        max_attempts: AttemptsOpt = 3,
        dry_run: DryRunOpt = False,
        approve: ApproveOpt = False,
        max_cost: MaxCostOpt = None,
        max_cost_strict: StrictOpt = False,
        estimate_sample: SampleOpt = None,
        job: JobOpt = None,
        output: OutputOpt = None,
        poll_max: PollMaxOpt = 60.0,
        mode: ModeOpt = "batch",
        concurrency: ConcurrencyOpt = None,
        rpm: RpmOpt = None,
        tpm: TpmOpt = None,
        deadline: DeadlineOpt = None,
        hedge_margin: HedgeMarginOpt = None,
        hedge_provider: HedgeProviderOpt = None,
        db: DbOpt = None,
    ) -> None:
        _refuse_misplaced(wait, job, output, base_url, api_key_env)
        if provider is not None:
            from batchgraph.jobs import address_holder
            from batchgraph.providers.settings import HostAddress, check_address

            # an unknown name, or an address where none belongs (or none where one is
            # needed), is refused before anything is opened
            holder = address_holder(provider, hedge_provider)
            check_address(holder, HostAddress(base_url, api_key_env))
        with open_store(db) as bg:
            if job is None:
                file, provider = _input_and_provider(file, provider)
                options = read_options(model, system, max_tokens, temperature, prompt_template,
                                       id_column, embeddings, param, json_schema)  # fmt: skip
                pricing = Pricing(dry_run, approve, max_cost, max_cost_strict, estimate_sample)
                address = (base_url, api_key_env)
                if not _priced(bg, file, provider, options, pricing, address, not no_cache):
                    return  # a dry run: the estimate was the answer
                execution = execution_from_options(
                    mode, concurrency, rpm, tpm, deadline, hedge_margin, hedge_provider
                )
                asked = NewJob(file, provider, options, execution, base_url, api_key_env, name,
                               max_attempts, batch_size, max_enqueued_tokens,
                               cache=not no_cache)  # fmt: skip
                job = _found_or_created(bg, asked, new, wait, output, db, poll_max)
                if not wait:
                    return
            _wait(bg, job, output, db, poll_max)

    return command


def _refuse_misplaced(
    wait: bool,
    job: str | None,
    output: Path | None,
    base_url: str | None,
    api_key_env: str | None,
) -> None:
    """Flags that belong to `run`, or to a new job, are refused before anything is opened."""
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


def _input_and_provider(file: Path | None, provider: str | None) -> tuple[Path, str]:
    if file is None:
        raise ConfigError("give an input FILE (or --job JOB to resume a job)")
    if provider is None:
        raise ConfigError(
            f"choose a provider with --provider: {', '.join(registry.names())} "
            f"(the {registry.SANDBOX_PREFIX}… ones run offline)"
        )
    return file, provider


def read_options(
    model: str | None,
    system: str | None,
    max_tokens: int | None,
    temperature: float | None,
    template: str | None,
    id_column: str | None,
    embeddings: bool,
    param: list[str] | None,
    json_schema: Path | None,
) -> ReadOptions:
    """The reader's defaults and layout from the flags (`--param` values and the schema file
    checked here)."""
    from batchgraph.io import ReadOptions
    from batchgraph.io.options import parse_params
    from batchgraph.model import Kind

    options = ReadOptions(
        model=model,
        system=system,
        max_tokens=max_tokens,
        temperature=temperature,
        template=template,
        id_column=id_column,
        kind=Kind.EMBEDDING if embeddings else None,
        params=parse_params(param or []),
    )
    return options if json_schema is None else options.with_schema_file(json_schema)


def _priced(
    bg: Batchgraph,
    file: Path,
    provider: str,
    options: ReadOptions,
    pricing: Pricing,
    address: tuple[str | None, str | None],
    cache: bool,
) -> bool:
    """Estimate when a flag asks for it: print it (`--dry-run`, then False: nothing more to
    do), ask (`--approve`) or hold it to `--max-cost`. True when the job may go ahead."""
    if pricing.sample is not None and not pricing.wanted:
        raise ConfigError(
            "--estimate-sample improves an estimate: add --dry-run, --approve or --max-cost"
        )
    if not pricing.wanted:
        # The estimate reads the whole input; without a use for it, submit's own
        # validation is the only pass before the ledger is written.
        return True
    from batchgraph.cli.estimate import estimate_table, guard_cost
    from batchgraph.estimate import check_max_cost
    from batchgraph.estimate_reuse import ReuseForecast

    check_max_cost(pricing.max_cost)
    estimate = guard_cost(
        file,
        provider,
        options,
        pricing.max_cost,
        strict=pricing.strict,
        history=bg.jobs(),
        sample=_sample(file, provider, options, pricing.sample, bg, address),
        data_dir=bg.deps.data_dir,
        reuse=ReuseForecast(bg.store, provider) if cache else None,
    )
    if pricing.dry_run:
        console.print(estimate_table(estimate))
        return False
    if pricing.approve:
        _ask_approval(estimate)
    return True


def _found_or_created(
    bg: Batchgraph,
    asked: NewJob,
    new: bool,
    wait: bool,
    output: Path | None,
    db: str | None,
    poll_max: float,
) -> str:
    """The job submitted before with this input and these options (unless `new`), or a new
    one with its first batches sent; `submit` prints its id."""
    found = None
    if not new:
        found = bg.existing_job(
            asked.file,
            provider=asked.provider,
            options=asked.options,
            execution=asked.execution,
            base_url=asked.base_url,
            cache=asked.cache,
        )
    if found is not None:
        _say_already_submitted(found.id, wait)
        if not wait:
            console.print(found.id)
        return found.id
    job = bg.create(
        asked.file,
        provider=asked.provider,
        options=asked.options,
        name=asked.name,
        max_attempts=asked.max_attempts,
        batch_size=asked.batch_size,
        max_enqueued_tokens=asked.max_enqueued_tokens,
        new=True,
        execution=asked.execution,
        base_url=asked.base_url,
        api_key_env=asked.api_key_env,
        cache=asked.cache,
    )
    _first_step(bg, job, wait, output, db, poll_max)
    if not wait:
        console.print(job)
        console.print(
            f"[dim]submitted; check with [bold]batchgraph status {job}[/], "
            f"collect with [bold]batchgraph collect {job}[/][/]",
            highlight=False,
        )
    return job


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
