"""The flags of `batchgraph submit` and `batchgraph run`, with their help (one place for both
commands, `cli.submit_cmd`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batchgraph.providers import registry

FileArg = Annotated[
    Path | None,
    typer.Argument(help="Input: .jsonl (plain or OpenAI batch format), .csv or .parquet."),
]
ProviderOpt = Annotated[
    str | None,
    typer.Option(
        "--provider",
        "-p",
        envvar="BATCHGRAPH_PROVIDER",
        help=f"{', '.join(registry.real_names())} — or sandbox-NAME (sandbox-openai, "
        "…) to try everything offline.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="openai-compatible: your server's address (http://localhost:8000/v1 for "
        "vLLM, http://localhost:11434/v1 for Ollama), as --provider or as "
        "--hedge-provider; kept with the job.",
    ),
]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key-env",
        help="openai-compatible: the environment variable holding your server's key, "
        "if it needs one (its name is kept with the job, never the key).",
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="Model for lines that name none.")
]
TemplateOpt = Annotated[
    str | None, typer.Option(help="For tables: the prompt, with {column} placeholders.")
]
IdColumnOpt = Annotated[
    str | None, typer.Option(help="For tables: the column holding ids (default: row number).")
]
SystemOpt = Annotated[str | None, typer.Option(help="System prompt for every request.")]
SchemaOpt = Annotated[
    Path | None,
    typer.Option(help="A JSON schema file: answers come back as JSON that follows it."),
]
MaxTokensOpt = Annotated[int | None, typer.Option(help="Answer length limit.")]
TemperatureOpt = Annotated[float | None, typer.Option(help="Sampling temperature.")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="A request option for every line, KEY=VALUE with a JSON value "
        "(--param top_p=0.9 --param 'stop=[\"END\"]'); repeatable; values on a line "
        "win. Fields: docs/request-fields.md.",
    ),
]
EmbeddingsOpt = Annotated[
    bool, typer.Option("--embeddings", help="Embed the prompts instead of chatting.")
]
NameOpt = Annotated[str | None, typer.Option(help="A name to find the job by.")]
NewOpt = Annotated[
    bool,
    typer.Option(
        "--new",
        help="Make a new job even if this input was submitted before with the same "
        "provider and options (by default that job is returned, not paid again).",
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Send every request, even one an earlier job answered or one repeated in "
        "this file (by default those are answered once, at no cost): fresh samples.",
    ),
]
BatchSizeOpt = Annotated[
    int | None,
    typer.Option(help="At most this many requests per provider batch (default: its cap)."),
]
EnqueuedOpt = Annotated[
    int | None,
    typer.Option(
        help="Keep at most this many prompt tokens in flight (the provider's "
        "enqueued-token quota): later batches wait for earlier ones to end."
    ),
]
AttemptsOpt = Annotated[
    int, typer.Option(help="Sends per request, first one included, before giving up.")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate and estimate cost; send nothing.")
]
ApproveOpt = Annotated[
    bool,
    typer.Option("--approve", help="Show the estimated cost and ask before sending anything."),
]
MaxCostOpt = Annotated[
    float | None,
    typer.Option(
        help="Refuse the job if its estimated batch cost is above this (USD); the "
        "central estimate is compared (see --dry-run for the range)."
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--max-cost-strict",
        help="With --max-cost: compare the top of the estimate's range instead.",
    ),
]
SampleOpt = Annotated[
    int | None,
    typer.Option(
        "--estimate-sample",
        help="With --dry-run, --approve or --max-cost: answer N requests drawn at "
        "random now, at the synchronous price, to estimate answer lengths.",
    ),
]
JobOpt = Annotated[
    str | None, typer.Option("--job", help="run: resume this job instead of a new file.")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="run: write results here (.jsonl, .csv, .parquet)."),
]
PollMaxOpt = Annotated[float, typer.Option(help="run: longest pause between checks, in seconds.")]
ModeOpt = Annotated[
    str,
    typer.Option(
        help="batch (half price, minutes to hours) or sync (one call per request, at "
        "the synchronous price). Hosts without a Batch API always run sync."
    ),
]
ConcurrencyOpt = Annotated[
    int | None, typer.Option(help="sync: calls in flight at once (default: the host's).")
]
RpmOpt = Annotated[float | None, typer.Option(help="sync: at most this many requests per minute.")]
TpmOpt = Annotated[
    float | None, typer.Option(help="sync: at most about this many tokens per minute.")
]
DeadlineOpt = Annotated[
    str | None,
    typer.Option(
        help="Finish by then: a duration (2h, 90m) or a time (2026-12-01T09:00). "
        "Batches still running near it are cancelled, what they finished is kept and "
        "the rest is sent synchronously."
    ),
]
HedgeMarginOpt = Annotated[
    str | None,
    typer.Option(
        help="With --deadline: how long before it to hedge (10m, 90s; default: a "
        "tenth of the time left, at least a minute)."
    ),
]
HedgeProviderOpt = Annotated[
    str | None,
    typer.Option(
        help="With --deadline: send the hedge to this provider (one with a "
        "synchronous API; default: the job's own)."
    ),
]
