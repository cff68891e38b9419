"""`batchgraph cache …`: the result cache that answers requests earlier jobs already paid for."""

from __future__ import annotations

from typing import Annotated

import typer

from batchgraph.cli.output import console, friendly
from batchgraph.errors import ConfigError

cache_app = typer.Typer(
    help="The result cache: a request an earlier job answered (same provider, model and "
    "request) is answered from the store at no cost unless submitted with --no-cache.",
    no_args_is_help=True,
)


@friendly
def prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Forget answers stored longer ago than this: 30d, 12h, 90m or 45s.",
        ),
    ],
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="BATCHGRAPH_DB",
            help="SQLite file or postgresql:// URL. Default: .batchgraph/batchgraph.db",
        ),
    ] = None,
) -> None:
    """Forget cached answers older than --older-than. Jobs and their results stay; later jobs
    only stop reusing those answers (and pay for them again)."""
    from batchgraph.cli.opening import open_existing
    from batchgraph.execution import parse_duration

    try:
        seconds = parse_duration(older_than, "--older-than")
    except ConfigError:
        raise ConfigError(
            f"--older-than {older_than!r} is not a duration; write a number and a unit, "
            "e.g. 30d, 12h, 90m or 45s"
        ) from None
    reading = open_existing(db)
    if reading is None:
        console.print("the result cache is empty: there is no database yet")
        return
    with reading as bg:
        removed = bg.prune_cache(seconds)
        left = bg.store.cache_size()
    console.print(f"forgot {removed:,} cached answers older than {older_than}; {left:,} remain")


cache_app.command("prune")(prune)
