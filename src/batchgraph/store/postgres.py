"""The store on PostgreSQL, for several workers on several machines.

Same schema and SQL as SQLite (`store.sql`); statements run on a small connection pool so
LangGraph's worker threads do not queue behind one connection. Checkpoints go to LangGraph's
`PostgresSaver` in the same database (and schema, via the URL's search_path). The per-job lock
is a session advisory lock held on a connection of its own: PostgreSQL drops it when the
connection ends, so a crashed worker never leaves a job locked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from batchgraph.errors import ConfigError, JobBusy
from batchgraph.store.sql import SqlStore
from batchgraph.store.transactions import Dialect, Tx

POOL_SIZE = 4
CONNECT_TIMEOUT_S = 10

POSTGRES = Dialect(
    name="postgres",
    types={"INT": "INTEGER", "BIGINT": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA"},
    for_update=" FOR UPDATE",
    analyze="ANALYZE bg_ledger",
    json_text="({column}::json) ->> '{key}'",
    migration_lock=(
        "SELECT pg_advisory_xact_lock("
        "hashtextextended('batchgraph:migrate:' || current_schema(), 0))"
    ),
)

_JOB_LOCK = (
    "SELECT pg_try_advisory_lock("
    "hashtextextended('batchgraph:' || current_schema() || ':' || %s, 0))"
)
"""Keyed by schema and job id, so that stores in different schemas never block each other."""


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """Our SQL is written with `?`; psycopg wants `%s` (no statement here contains `%`)."""
    return sql.replace("?", "%s")


class _PostgresTx(Tx):
    def __init__(self, cursor: psycopg.Cursor[tuple[Any, ...]]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cursor.execute(_placeholders(sql), params)
        return self._cursor.rowcount

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> int:
        self._cursor.executemany(_placeholders(sql), params)
        return max(self._cursor.rowcount, 0)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor.execute(_placeholders(sql), params).fetchall()

    def insert_many(
        self, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]]
    ) -> None:
        with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)


def describe(url: str) -> str:
    """`user@host:port/dbname` for messages: never the password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the PostgreSQL URL given"
    where = f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}"
    return f"{info.get('user') or ''}@{where}/{info.get('dbname') or ''}".lstrip("@")


class PostgresStore(SqlStore):
    """Jobs, ledger and checkpoints in the PostgreSQL database at `url`."""

    dialect = POSTGRES

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.where = f"PostgreSQL {describe(url)}"
        try:
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.OperationalError as err:
            raise ConfigError(
                f"cannot connect to PostgreSQL at {describe(url)}: {str(err).strip()} — check "
                "the URL and that the server is running, or use a SQLite file instead"
            ) from err
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            open=True,
        )
        self._saver: PostgresSaver | None = None
        self._saver_lock = threading.Lock()
        self._migrate()

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        with self._pool.connection() as conn, conn.cursor() as cursor:
            yield _PostgresTx(cursor)

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield _PostgresTx(cursor)

    @contextmanager
    def lock(self, job_id: str) -> Iterator[None]:
        # Its own connection, closed at the end: closing releases the lock even if the block
        # broke the connection, and a pooled connection must never keep a lock.
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(_JOB_LOCK, (job_id,)).fetchone()
            if not (row and row[0]):
                raise JobBusy(job_id)
            yield

    def checkpointer(self) -> BaseCheckpointSaver[Any]:
        with self._saver_lock:
            if self._saver is None:
                conn: psycopg.Connection[DictRow] = psycopg.connect(
                    self.url, autocommit=True, prepare_threshold=0, row_factory=dict_row
                )
                saver = PostgresSaver(conn)
                saver.setup()
                self._saver = saver
            return self._saver

    def close(self) -> None:
        with self._saver_lock:
            if self._saver is not None:
                conn = self._saver.conn
                if isinstance(conn, psycopg.Connection):
                    conn.close()
                self._saver = None
        self._pool.close()
