"""The sandbox's state on disk: SQLite for records, one file per uploaded or generated file.

Several processes may share one data directory (WAL journal, busy timeout); every write is a
single statement or transaction, and generated results are claimed with a conditional update,
so two servers finishing the same batch agree on one outcome.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from batchgraph.sandbox.clock import Timeline
from batchgraph.sandbox.config import SandboxConfig

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    timeline TEXT NOT NULL,
    config TEXT NOT NULL,
    spec TEXT NOT NULL,
    cancel_requested REAL,
    outcome TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS creations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    created REAL NOT NULL,
    request_count INTEGER NOT NULL,
    metadata TEXT,
    custom_ids TEXT
);
"""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A stored file; `meta` holds provider-specific fields (e.g. expires_at, source)."""

    id: str
    provider: str
    created_at: int
    filename: str
    purpose: str
    bytes: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A stored batch. `spec` is what the provider module recorded at creation; `outcome` is
    what it recorded once the batch ended (None until then)."""

    id: str
    provider: str
    timeline: Timeline
    config: SandboxConfig
    spec: dict[str, Any]
    cancel_requested: float | None = None
    outcome: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Creation:
    """One batch creation, as tests count them (`custom_ids` only where the wire has no
    metadata, i.e. Anthropic)."""

    provider: str
    batch_id: str
    created: float
    request_count: int
    metadata: dict[str, Any] | None = None
    custom_ids: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "batch_id": self.batch_id,
            "created": self.created,
            "request_count": self.request_count,
            "metadata": self.metadata,
            "custom_ids": self.custom_ids,
        }


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, newest first unless asked otherwise."""

    items: list[Any]
    has_more: bool


class SandboxStore:
    """Records and file contents under one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.files_dir = data_dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    # -- connection ---------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, inside a transaction."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.data_dir / "sandbox.sqlite3", timeout=30.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        with db:
            yield db

    # -- files --------------------------------------------------------------------------------

    def file_path(self, file_id: str) -> Path:
        return self.files_dir / file_id

    @contextmanager
    def writing(self, file_id: str) -> Iterator[IO[bytes]]:
        """Write a file's content; it appears under its id only once complete."""
        path = self.file_path(file_id)
        tmp = path.with_name(f".{file_id}.{uuid.uuid4().hex}.tmp")
        try:
            with tmp.open("wb") as out:
                yield out
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def add_file(self, record: FileRecord) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO files (id, provider, created_at, filename, purpose, bytes,"
                " meta) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.provider,
                    record.created_at,
                    record.filename,
                    record.purpose,
                    record.bytes,
                    json.dumps(record.meta),
                ),
            )

    def get_file(self, provider: str, file_id: str) -> FileRecord | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, provider, created_at, filename, purpose, bytes, meta FROM files"
                " WHERE id = ? AND provider = ? AND deleted = 0",
                (file_id, provider),
            ).fetchone()
        return _file(row) if row else None

    def list_files(
        self,
        provider: str,
        *,
        limit: int,
        after: str | None = None,
        offset: int = 0,
        purpose: str | None = None,
        newest_first: bool = True,
    ) -> Page:
        where, args = ["provider = ?", "deleted = 0"], [provider]
        if purpose:
            where.append("purpose = ?")
            args.append(purpose)
        rows = self._page(
            "files", where, args, limit, after, None, offset, newest_first, _FILE_COLS
        )
        return Page([_file(r) for r in rows[:limit]], len(rows) > limit)

    def count_files(self, provider: str, purpose: str | None = None) -> int:
        with self._connect() as db:
            sql = "SELECT COUNT(*) FROM files WHERE provider = ? AND deleted = 0"
            args: list[Any] = [provider]
            if purpose:
                sql += " AND purpose = ?"
                args.append(purpose)
            return int(db.execute(sql, args).fetchone()[0])

    def delete_file(self, provider: str, file_id: str) -> bool:
        with self._connect() as db:
            changed = db.execute(
                "UPDATE files SET deleted = 1 WHERE id = ? AND provider = ? AND deleted = 0",
                (file_id, provider),
            ).rowcount
        if changed:
            self.file_path(file_id).unlink(missing_ok=True)
        return bool(changed)

    # -- batches ------------------------------------------------------------------------------

    def add_batch(self, record: BatchRecord, creation: Creation) -> None:
        """Store a new batch and log its creation, atomically."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO batches (id, provider, timeline, config, spec) VALUES (?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.provider,
                    json.dumps(record.timeline.to_json()),
                    json.dumps(record.config.to_json()),
                    json.dumps(record.spec),
                ),
            )
            db.execute(
                "INSERT INTO creations (provider, batch_id, created, request_count, metadata,"
                " custom_ids) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    creation.provider,
                    creation.batch_id,
                    creation.created,
                    creation.request_count,
                    json.dumps(creation.metadata),
                    json.dumps(creation.custom_ids),
                ),
            )

    def get_batch(self, provider: str, batch_id: str) -> BatchRecord | None:
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_BATCH_COLS} FROM batches WHERE id = ? AND provider = ? AND deleted = 0",
                (batch_id, provider),
            ).fetchone()
        return _batch(row) if row else None

    def list_batches(
        self,
        provider: str,
        *,
        limit: int,
        after: str | None = None,
        before: str | None = None,
        offset: int = 0,
        newest_first: bool = True,
    ) -> Page:
        rows = self._page(
            "batches",
            ["provider = ?", "deleted = 0"],
            [provider],
            limit,
            after,
            before,
            offset,
            newest_first,
            _BATCH_COLS,
        )
        return Page([_batch(r) for r in rows[:limit]], len(rows) > limit)

    def count_batches(self, provider: str) -> int:
        with self._connect() as db:
            sql = "SELECT COUNT(*) FROM batches WHERE provider = ? AND deleted = 0"
            return int(db.execute(sql, (provider,)).fetchone()[0])

    def request_cancel(self, provider: str, batch_id: str, now: float) -> bool:
        """Record a cancel at real time `now`; False when one was already recorded."""
        with self._connect() as db:
            return bool(
                db.execute(
                    "UPDATE batches SET cancel_requested = ? WHERE id = ? AND provider = ?"
                    " AND cancel_requested IS NULL",
                    (now, batch_id, provider),
                ).rowcount
            )

    def set_outcome(self, batch_id: str, outcome: dict[str, Any]) -> dict[str, Any]:
        """Record the batch's final outcome unless another writer did first; return the one kept."""
        with self._connect() as db:
            db.execute(
                "UPDATE batches SET outcome = ? WHERE id = ? AND outcome IS NULL",
                (json.dumps(outcome), batch_id),
            )
            row = db.execute("SELECT outcome FROM batches WHERE id = ?", (batch_id,)).fetchone()
        kept: dict[str, Any] = json.loads(row[0])
        return kept

    def delete_batch(self, provider: str, batch_id: str) -> bool:
        with self._connect() as db:
            return bool(
                db.execute(
                    "UPDATE batches SET deleted = 1 WHERE id = ? AND provider = ? AND deleted = 0",
                    (batch_id, provider),
                ).rowcount
            )

    # -- creations log ------------------------------------------------------------------------

    def creations(self, provider: str | None = None) -> list[Creation]:
        """Every batch creation so far, oldest first."""
        sql = (
            "SELECT provider, batch_id, created, request_count, metadata, custom_ids FROM creations"
        )
        args: tuple[str, ...] = ()
        if provider:
            sql += " WHERE provider = ?"
            args = (provider,)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY seq", args).fetchall()
        return [Creation(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5])) for r in rows]

    # -- paging -------------------------------------------------------------------------------

    def _page(
        self,
        table: str,
        where: list[str],
        args: list[Any],
        limit: int,
        after: str | None,
        before: str | None,
        offset: int,
        newest_first: bool,
        columns: str,
    ) -> Sequence[tuple[Any, ...]]:
        """Up to `limit + 1` rows (the extra one tells whether there are more)."""
        where, args = list(where), list(args)
        older, newer = ("<", ">") if newest_first else (">", "<")
        if after:
            where.append(f"seq {older} COALESCE((SELECT seq FROM {table} WHERE id = ?), -1)")
            args.append(after)
        if before:
            where.append(f"seq {newer} COALESCE((SELECT seq FROM {table} WHERE id = ?), -1)")
            args.append(before)
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)}"
            f" ORDER BY seq {order} LIMIT ? OFFSET ?"
        )
        with self._connect() as db:
            return db.execute(sql, [*args, limit + 1, offset]).fetchall()


_FILE_COLS = "id, provider, created_at, filename, purpose, bytes, meta"
_BATCH_COLS = "id, provider, timeline, config, spec, cancel_requested, outcome"


def _file(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))


def _batch(row: tuple[Any, ...]) -> BatchRecord:
    return BatchRecord(
        id=row[0],
        provider=row[1],
        timeline=Timeline.from_json(json.loads(row[2])),
        config=SandboxConfig.from_json(json.loads(row[3])),
        spec=json.loads(row[4]),
        cancel_requested=row[5],
        outcome=json.loads(row[6]) if row[6] else None,
    )


def read_creations(data_dir: Path, provider: str | None = None) -> list[Creation]:
    """The creations log of a sandbox data directory (what tests count)."""
    return SandboxStore(data_dir).creations(provider)
