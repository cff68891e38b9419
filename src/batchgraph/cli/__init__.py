"""The `batchgraph` command: Typer commands over the Python API; messages in one place."""

from __future__ import annotations

import typer

from batchgraph.providers.registry import SPECS

app = typer.Typer(
    name="batchgraph",
    help=f"Run LLM work through the Batch APIs of {', '.join(s.title for s in SPECS)} at about "
    "half price.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


SUBMIT_EXAMPLES = """[bold]Examples[/]

  batchgraph submit prompts.jsonl -p openai -m gpt-4o-mini

  batchgraph submit reviews.csv -p anthropic -m claude-haiku-4-5 --id-column review_id
  --prompt-template "Classify: {text}" --json-schema labels.schema.json

  batchgraph submit prompts.jsonl -p sandbox-openai -m gpt-4o-mini   [dim](offline, no key)[/]

Then: [bold]batchgraph status JOB[/], [bold]batchgraph collect JOB[/], \
[bold]batchgraph results JOB -o out.csv[/]"""

RUN_EXAMPLES = """[bold]Examples[/]

  batchgraph run prompts.jsonl -p mistral -m mistral-small-latest -o answers.jsonl

  batchgraph run --job JOB -o answers.parquet   [dim](resume after Ctrl-C or a crash)[/]"""


def _register() -> None:
    from batchgraph.cli import cache_cmd, commands, flow_cmd, sandbox_cmd, submit_cmd

    app.command(
        "submit",
        help="Validate FILE, submit it as batches, print the job id and return.",
        epilog=SUBMIT_EXAMPLES,
    )(submit_cmd.job_command(wait=False))
    app.command(
        "run",
        help="Submit FILE (or resume --job) and wait until every request is done.",
        epilog=RUN_EXAMPLES,
    )(submit_cmd.job_command(wait=True))
    app.command("status")(commands.status)
    app.command("collect")(commands.collect)
    app.command("results")(commands.results)
    app.command("cancel")(commands.cancel)
    app.command("list")(commands.list_jobs)
    app.command("cost")(commands.cost)
    app.command("worker")(commands.worker)
    app.command("sandbox")(sandbox_cmd.sandbox)
    app.add_typer(flow_cmd.flow_app, name="flow")
    app.add_typer(cache_cmd.cache_app, name="cache")


_register()


def main() -> None:
    """Console-script entry point."""
    app()
