"""Store fixtures: every conformance test runs once per backend.

SQLite always runs, in a temporary directory; PostgreSQL on the `postgres_location` fixture of
`tests/conftest.py` (a fresh schema per test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchgraph.store.base import Store
from batchgraph.store.location import open_store


@dataclass
class Backend:
    """One database to test against: its location string and how to open a store on it."""

    name: str
    location: str

    def open(self) -> Store:
        return open_store(self.location)


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
