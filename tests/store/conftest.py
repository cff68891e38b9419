"""Store fixtures: every conformance test runs once per backend.

SQLite always runs, in a temporary directory. PostgreSQL runs on `BATCHGRAPH_TEST_POSTGRES_URL`
when it is set; otherwise a scratch server is started for the test session (see
`pg_server.py`), and the tests are skipped only when no PostgreSQL server binaries exist
(CI sets `BATCHGRAPH_REQUIRE_POSTGRES=1`, turning that skip into a failure).
Each PostgreSQL test gets a fresh schema, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from pg_server import ScratchPostgres, find_bindir

from batchgraph.store.base import Store
from batchgraph.store.location import open_store

URL_ENV = "BATCHGRAPH_TEST_POSTGRES_URL"
REQUIRE_ENV = "BATCHGRAPH_REQUIRE_POSTGRES"
"""Set by CI: a missing PostgreSQL fails the tests instead of skipping them."""


@dataclass
class Backend:
    """One database to test against: its location string and how to open a store on it."""

    name: str
    location: str

    def open(self) -> Store:
        return open_store(self.location)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database for this test session (one scratch server per session)."""
    url = os.environ.get(URL_ENV)
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        reason = (
            f"no PostgreSQL server binaries (initdb, pg_ctl): install the `postgresql` package "
            f"(scripts/ensure-postgres.sh) or set {URL_ENV} to a database these tests may use"
        )
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(reason)
        pytest.skip(reason)
    with ScratchPostgres(bindir) as server:
        yield server.create_database("batchgraph_test")


def _schema_url(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_location(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema, dropped after the test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield _schema_url(postgres_url, schema)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "store" / "batchgraph.db"))
    return Backend("postgres", request.getfixturevalue("postgres_location"))


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def reopen(backend: Backend) -> Iterator[Callable[[], Store]]:
    """Open further stores on the same database (closed after the test)."""
    opened: list[Store] = []

    def open_again() -> Store:
        opened.append(backend.open())
        return opened[-1]

    yield open_again
    for each in opened:
        each.close()
