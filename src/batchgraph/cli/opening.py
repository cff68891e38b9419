"""How a command reaches the store: the `--db` option, and opening the store without creating
one where a command only reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from batchgraph.cli.output import console

if TYPE_CHECKING:
    from batchgraph.api import Batchgraph

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


def open_store(db: str | None) -> Batchgraph:
    """The store `db` names (made when missing), for a command that writes."""
    from batchgraph.api import Batchgraph
    from batchgraph.runner.memory import use_one_malloc_arena

    use_one_malloc_arena()  # before any thread starts: see runner.memory
    return Batchgraph.open(db)


def open_existing(db: str | None) -> Batchgraph | None:
    """The store for a command that only reads it, or None when there is none yet: reading
    never creates a `.batchgraph/` folder as a side effect."""
    from batchgraph.deps import store_location
    from batchgraph.store.location import is_postgres_url

    location = store_location(db)
    if is_postgres_url(location) or Path(location).exists():
        return open_store(db)
    return None


def open_for_job(db: str | None, job: str, *, flow: bool = False) -> Batchgraph:
    """The existing store, for reading one job (or `flow`); a missing store is a job (a flow)
    not found there."""
    from batchgraph.deps import store_location
    from batchgraph.errors import FlowNotFound, JobNotFound

    found = open_existing(db)
    if found is None:
        missing = FlowNotFound if flow else JobNotFound
        raise missing(job, f"{store_location(db)}, which does not exist")
    return found


def no_database(db: str | None, as_json: bool, what: str = "jobs", maker: str = "submit") -> None:
    """What a listing (of `what`, which `maker` starts) says when there is no store yet."""
    from batchgraph.deps import store_location

    if as_json:
        return print_json([])
    console.print(
        f"no {what}: there is no database at {store_location(db)} yet ({maker} makes one)"
    )


def print_json(value: object) -> None:
    """Plain JSON on standard output, for scripts (no colours, no wrapping)."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
