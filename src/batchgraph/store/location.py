"""Where the store lives, and opening it: the one place that picks a backend.

`None` means `$BATCHGRAPH_DB`, or else `.batchgraph/batchgraph.db` in the current directory.
A `postgresql://` (or `postgres://`) URL opens PostgreSQL; anything else is a SQLite file, or a
directory to hold `batchgraph.db`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from batchgraph.store.base import Store

ENV_VAR = "BATCHGRAPH_DB"
DEFAULT_DIR = ".batchgraph"
DEFAULT_FILE = "batchgraph.db"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: str) -> bool:
    return location.startswith(_POSTGRES_SCHEMES)


def resolve_location(
    url_or_path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> str:
    """The database to open: the argument, then `$BATCHGRAPH_DB`, then the default file."""
    env = os.environ if environ is None else environ
    location = os.fspath(url_or_path) if url_or_path else env.get(ENV_VAR, "")
    if not location:
        return str(Path(DEFAULT_DIR) / DEFAULT_FILE)
    if is_postgres_url(location):
        return location
    path = Path(location).expanduser()
    if path.is_dir() or location.endswith(("/", os.sep)):
        path = path / DEFAULT_FILE
    return str(path)


def open_store(url_or_path: str | os.PathLike[str] | None = None) -> Store:
    """Open (creating and migrating if needed) the store at `url_or_path`."""
    location = resolve_location(url_or_path)
    if is_postgres_url(location):
        from batchgraph.store.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore(location)
    from batchgraph.store.sqlite import SqliteStore

    return SqliteStore(location)
