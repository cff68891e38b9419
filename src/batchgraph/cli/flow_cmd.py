"""`batchgraph flow …`: a user's LangGraph graph over many inputs, every model call batched."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchgraph.cli.opening import (
    DbOpt,
    JsonOpt,
    no_database,
    open_existing,
    open_for_job,
    open_store,
    print_json,
)
from batchgraph.cli.output import console, err_console, friendly, usd
from batchgraph.errors import ConfigError

if TYPE_CHECKING:
    from batchgraph.api import Batchgraph
    from batchgraph.flows import FlowRunner
    from batchgraph.store.base import FlowRecord

flow_app = typer.Typer(
    help="Run your own LangGraph graph over many inputs; its BatchChatModel calls go through "
    "provider batches, one wave per model step.",
    no_args_is_help=True,
)

FlowArg = Annotated[str, typer.Argument(help="The flow id that `flow submit` printed.")]
GraphArg = Annotated[
    str | None,
    typer.Argument(help="Your graph: module:attribute (my_flows:graph) or file.py:graph."),
]
InputArg = Annotated[
    Path | None, typer.Argument(help="JSONL: one thread's initial state per line.")
]
ProviderOpt = Annotated[
    str | None,
    typer.Option("--provider", "-p", help="Where the graph's BatchChatModel calls go."),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="Model for calls that name none.")
]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Send every model call, even one an earlier job or flow answered (fresh samples).",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="openai-compatible: your server's address, for the calls of models that name "
        "no provider of their own.",
    ),
]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key-env",
        help="openai-compatible: the environment variable holding your server's key.",
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write one JSONL record per input here.")
]


def _runner(bg: Batchgraph, flow_id: str) -> FlowRunner:
    from batchgraph.flows import FlowRunner

    return FlowRunner(bg, flow_id)


def _create(bg: Batchgraph, graph: str | None, file: Path | None, provider: str | None,
            model: str | None, no_cache: bool, address: tuple[str | None, str | None],
            ) -> str:  # fmt: skip
    from batchgraph.flows import create_flow

    if graph is None or file is None:
        raise ConfigError("give a GRAPH (module:attribute) and an INPUT file, or --job FLOW")
    if provider is None:
        raise ConfigError("choose where model calls go with --provider (sandbox-openai offline)")
    base_url, api_key_env = address
    return create_flow(bg, graph=graph, input=file, provider=provider, model=model,
                       cache=not no_cache, base_url=base_url, api_key_env=api_key_env)  # fmt: skip


@flow_app.command("submit")
@friendly
def submit(
    graph: GraphArg = None,
    file: InputArg = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    no_cache: NoCacheOpt = False,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    db: DbOpt = None,
) -> None:
    """Start every thread up to its first model calls, send them as batches, print the id."""
    with open_store(db) as bg:
        flow_id = _create(bg, graph, file, provider, model, no_cache, (base_url, api_key_env))
        _runner(bg, flow_id).tick()
        console.print(flow_id)
        console.print(
            f"[dim]check with [bold]batchgraph flow collect {flow_id}[/][/]", highlight=False
        )


@flow_app.command("collect")
@friendly
def collect(flow: FlowArg, db: DbOpt = None) -> None:
    """One step: check the current wave; when it has ended, resume the threads and send the
    next wave."""
    with open_store(db) as bg:
        _print_status(_runner(bg, flow).tick())


@flow_app.command("status")
@friendly
def status(flow: FlowArg, db: DbOpt = None) -> None:
    """Where the flow stands: its wave and jobs, or its report."""
    with open_for_job(db, flow, flow=True) as bg:
        _print_status(bg.store.get_flow(flow))


@flow_app.command("list")
@friendly
def list_flows(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """All flows, newest first."""
    from batchgraph.cli.views import flows_table, to_json

    reading = open_existing(db)
    if reading is None:
        return no_database(db, as_json, "flows", "flow submit")
    with reading as bg:
        if as_json:
            return print_json([to_json(flow) for flow in bg.store.list_flows()])
        console.print(flows_table(bg.store.list_flows()))


@flow_app.command("run")
@friendly
def run(
    graph: GraphArg = None,
    file: InputArg = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    job: Annotated[
        str | None, typer.Option("--job", help="Resume this flow instead of starting one.")
    ] = None,
    output: OutputOpt = None,
    no_cache: NoCacheOpt = False,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    poll_max: Annotated[
        float, typer.Option(help="Longest pause between checks, in seconds.")
    ] = 60.0,
    db: DbOpt = None,
) -> None:
    """Run the graph over every input to the end (Ctrl-C leaves it safe; --job resumes)."""
    with open_store(db) as bg:
        address = (base_url, api_key_env)
        flow_id = job or _create(bg, graph, file, provider, model, no_cache, address)
        runner = _runner(bg, flow_id)
        delay, shown = 0.2, None
        try:
            while (record := runner.tick()).status != "done":
                wave = record.progress.get("wave")
                if wave != shown:
                    jobs = ", ".join(record.progress.get("jobs", []))
                    err_console.print(f"flow {flow_id}: wave {wave} sent (jobs {jobs})")
                    shown, delay = wave, 0.2
                time.sleep(delay)
                delay = min(delay * 1.5, poll_max)
        except KeyboardInterrupt:
            err_console.print(
                f"\nstopped; resume with [bold]batchgraph flow run --job {flow_id}[/]"
            )
            raise typer.Exit(130) from None
        _print_status(record)
        if output is not None:
            _write(runner, output)


@flow_app.command("results")
@friendly
def results(flow: FlowArg, output: OutputOpt = None, db: DbOpt = None) -> None:
    """One JSONL record per input, in input order: final state, status, model calls, tokens."""
    with open_for_job(db, flow, flow=True) as bg:
        runner = _runner(bg, flow)
        if output is None:
            for record in runner.records():
                typer.echo(_dumps(record))
        else:
            _write(runner, output)


def _write(runner: FlowRunner, output: Path) -> None:
    with output.open("w", encoding="utf-8") as handle:
        for record in runner.records():
            handle.write(_dumps(record) + "\n")
    console.print(f"results: {output}")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_jsonable)


def _jsonable(value: Any) -> Any:
    """Messages and models in a thread's state, as JSON."""
    from langchain_core.messages import BaseMessage
    from langchain_core.messages.utils import convert_to_openai_messages

    if isinstance(value, BaseMessage):
        return convert_to_openai_messages(value)
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else str(value)


def _print_status(record: FlowRecord) -> None:
    flow = asdict(record)
    report = flow.get("report")
    if report:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(report["counts"].items()))
        console.print(
            f"flow {flow['id']}: done — {report['threads']} threads ({counts}) in "
            f"{report['waves']} waves, {len(report['jobs'])} jobs; batch cost "
            f"{usd(report['batch_usd'])} against {usd(report.get('sync_usd'))} synchronous",
            highlight=False,
        )
        if report.get("reused_calls"):
            console.print(
                f"{report['reused_calls']:,} model calls answered without sending (result "
                f"cache or repeated calls): saved {usd(report.get('reused_usd'))}",
                highlight=False,
            )
        return
    progress = flow.get("progress", {})
    console.print(
        f"flow {flow['id']}: {flow.get('status')}, wave {progress.get('wave')}, jobs "
        f"{', '.join(progress.get('jobs', [])) or 'none yet'}",
        highlight=False,
    )
