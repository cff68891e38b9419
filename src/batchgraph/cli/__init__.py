"""The `batchgraph` command: Typer commands over the Python API; messages in one place."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="batchgraph",
    help="Run LLM work through the OpenAI, Anthropic and Mistral Batch APIs at half price.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def main() -> None:
    """Console-script entry point."""
    app()
