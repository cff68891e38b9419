"""What a SQL backend hands `SqlStore`: its `Dialect` and its transactions (`Tx`), and the
small helpers their statements share.

SQLite (`store.sqlite`) and PostgreSQL (`store.postgres`) each implement `Tx` over their
driver; `store.sql` and `store.result_cache` write their statements against it once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the backends' SQL."""

    name: str
    types: dict[str, str] = field(default_factory=dict)
    """Type names for the migrations' `{INT}`, `{BIGINT}`, `{REAL}` and `{BLOB}`."""
    for_update: str = ""
    """Appended to a SELECT that guards an UPDATE in the same transaction."""
    migration_lock: str | None = None
    """Run first in the migration transaction so that two processes never migrate at once."""
    analyze: str | None = None
    """Run after a big job is written, so the planner walks the ledger by index at once
    (PostgreSQL without statistics sorts the whole remaining job for every page)."""
    json_text: str = "{column} ->> '{key}'"
    """An expression reading the string `key` of the JSON object in the TEXT `column`."""


class Tx(ABC):
    """Statements inside one transaction (or one read). Placeholders are written `?`."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the rows it changed."""

    @abstractmethod
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> int:
        """Run one statement per parameter row; return the rows changed in total."""

    @abstractmethod
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def insert_many(
        self, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]]
    ) -> None:
        """Insert many rows as fast as the backend can (COPY, executemany)."""

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.fetchall(sql, params)
        return found[0] if found else None


def marks(count: int) -> str:
    """`count` placeholders for a VALUES or IN list: `?, ?, ?`."""
    return ", ".join("?" * count)


def index_runs(indices: Iterable[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of consecutive ascending integers, in the order given.

    A repeated or descending position starts a new run, so every position is counted once
    per time it appears.
    """
    first = last = None
    for idx in indices:
        if last is not None and idx == last + 1:
            last = idx
            continue
        if first is not None and last is not None:
            yield first, last
        first = last = idx
    if first is not None and last is not None:
        yield first, last
