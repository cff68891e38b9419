"""The default store: one SQLite file holding the ledger and the LangGraph checkpoints.

LangGraph runs nodes in worker threads, so the store keeps one connection behind a lock
(SQLite serialises writers anyway) and the checkpointer has its own. WAL lets other processes
read while one writes, and the busy timeout makes them wait for the write lock instead of
failing. The per-job lock is an `flock` on a file beside the database, released by the kernel
if the process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchgraph.errors import ConfigError, JobBusy
from batchgraph.store.sql import SqlStore
from batchgraph.store.transactions import Dialect, Tx

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.checkpoint.sqlite import SqliteSaver

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's write transaction before giving up."""

WAL_SIZE_LIMIT = 64 * 2**20
"""Bytes the write-ahead log is truncated to after a checkpoint."""

SQLITE = Dialect(
    name="sqlite",
    types={"INT": "INTEGER", "BIGINT": "INTEGER", "REAL": "REAL", "BLOB": "BLOB"},
)


class _SqliteTx(Tx):
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._cursor.execute(sql, params).rowcount

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> int:
        return self._cursor.executemany(sql, params).rowcount

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor.execute(sql, params).fetchall()

    def insert_many(
        self, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]]
    ) -> None:
        marks = ", ".join("?" * len(columns))
        self._cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
        )


def _connect(path: Path, *, autocommit: bool) -> sqlite3.Connection:
    """A connection usable from any thread; the caller serialises its use.

    The store's own connection is in autocommit mode and opens its transactions explicitly;
    the checkpointer's keeps Python's implicit transactions, which `SqliteSaver` expects.
    """
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None if autocommit else "DEFERRED",
        check_same_thread=False,
    )
    conn.execute("PRAGMA journal_mode = WAL")
    # A million-row job goes through the WAL in one transaction; shrink it again afterwards.
    conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def create_private(path: Path) -> None:
    """Create the database file (and its folder) readable by its owner only, as credential
    stores are: it holds every prompt and answer. SQLite gives its -wal and -shm files the
    database file's mode. An existing file or folder is left as its owner set it."""
    _private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)  # whatever the umask
    os.close(fd)


def _private_folder(folder: Path) -> None:
    if folder.exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        return
    folder.chmod(0o700)


class SqliteStore(SqlStore):
    """Jobs, ledger and checkpoints in the SQLite file at `path` (created if missing)."""

    dialect = SQLITE

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        try:
            create_private(self.path)
            self._conn = _connect(self.path, autocommit=True)
        except (OSError, sqlite3.Error) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            raise ConfigError(
                f"cannot open the database {self.path}: {reason} — pass --db with a path in a "
                "folder you can write to"
            ) from err
        # 16 MiB: a new job's rows and index entries are written in idx order (appended), so
        # a bigger cache only grows the memory of big jobs without making them faster.
        self._conn.execute("PRAGMA cache_size = -16384")
        self._lock = threading.Lock()
        self._saver: SqliteSaver | None = None
        self._saver_lock = threading.Lock()
        self._migrate()

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        with self._lock:
            cursor = self._conn.cursor()
            try:
                yield _SqliteTx(cursor)
            finally:
                cursor.close()

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        with self._lock:
            cursor = self._conn.cursor()
            # IMMEDIATE takes the write lock now, so the busy timeout applies here rather
            # than failing later when a read transaction tries to become a write.
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(cursor)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            else:
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    # -- coordination -------------------------------------------------------------------------
    def lock_path(self, job_id: str) -> Path:
        """The job's lock file: `<database>.locks/<job id>.lock`."""
        name = job_id if re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", job_id) else None
        if name is None or name.startswith("."):
            name = hashlib.sha256(job_id.encode()).hexdigest()
        return self.path.with_name(self.path.name + ".locks") / f"{name}.lock"

    @contextmanager
    def lock(self, job_id: str) -> Iterator[None]:
        path = self.lock_path(job_id)
        _private_folder(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as err:
                raise JobBusy(job_id) from err
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def checkpointer(self) -> BaseCheckpointSaver[Any]:
        with self._saver_lock:
            if self._saver is None:
                from langgraph.checkpoint.sqlite import SqliteSaver  # only for graph steps

                saver = SqliteSaver(_connect(self.path, autocommit=False))
                saver.setup()
                self._saver = saver
            return self._saver

    def close(self) -> None:
        with self._saver_lock:
            if self._saver is not None:
                self._saver.conn.close()
                self._saver = None
        with self._lock:
            self._conn.close()
