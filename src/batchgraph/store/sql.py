"""The `Store` methods written once in SQL that SQLite and PostgreSQL both speak.

A backend supplies a `Dialect` (type names, row locking), and two ways to run statements: a
short read and one write transaction (`Tx`, in `store.transactions`). Everything else — the
ledger queries, the bounded result transactions, the replay guard, and through
`store.result_cache` the result cache — lives here, so the backends cannot drift apart.

Streams (`pending_stored`, `chunk_stored`, `ledger`, `result_records`) read in pages by idx,
each page in its own short read: memory stays flat, no transaction is held open between pages,
and callers may write to the same rows while iterating (the planner moves pending rows into chunks).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from itertools import islice
from typing import Any

from batchgraph.errors import FlowNotFound, JobNotFound
from batchgraph.model import JSON, Outcome, Request, Result, Usage
from batchgraph.store import result_cache, rows
from batchgraph.store.base import (
    ChunkRecord,
    ChunkStatus,
    FlowRecord,
    JobRecord,
    JobStatus,
    LedgerRow,
    LedgerStatus,
    Placement,
    ReusedAnswers,
    Store,
    flow_input_key,
)
from batchgraph.store.cache_key import request_key
from batchgraph.store.migrations import MIGRATIONS_TABLE, apply_migrations
from batchgraph.store.secrets import refuse_secrets
from batchgraph.store.transactions import Dialect, Tx, index_runs, marks

REQUEUE_STATUSES = frozenset(
    {LedgerStatus.FAILED, LedgerStatus.EXPIRED, LedgerStatus.MISSING, LedgerStatus.CANCELLED}
)
SETTLE_STATUSES = frozenset({LedgerStatus.EXPIRED, LedgerStatus.MISSING, LedgerStatus.CANCELLED})
ANALYZE_AFTER = 10_000
"""Jobs this big refresh the planner's statistics (`Dialect.analyze`) when they are created."""
_PENDING = LedgerStatus.PENDING.value
_QUEUED = LedgerStatus.QUEUED.value
_OUTCOME_STATUS = {outcome: LedgerStatus(outcome.value).value for outcome in Outcome}
_CLEAR_RESULT = ", ".join(f"{column} = NULL" for column in rows.RESULT_COLUMNS)
_SET_RESULT = ", ".join(f"{column} = ?" for column in rows.RESULT_COLUMNS)
_SET_TEXT_RESULT = ", ".join(
    f"{column} = ?" if column in rows.TEXT_RESULT_COLUMNS else f"{column} = NULL"
    for column in rows.RESULT_COLUMNS
)
_SUCCEEDED = LedgerStatus.SUCCEEDED.value
_LEDGER_INSERT = ("job_id", "idx", "request", "status", "attempt", "chunk", "request_key")


_INSERT_CHUNK = (
    f"INSERT INTO bg_chunks ({rows.CHUNK_COLUMNS}) VALUES ({marks(rows.CHUNK_COLUMN_COUNT)})"
)


class SqlStore(Store):
    """A `Store` over any backend that provides `_read`, `_write` and a `Dialect`."""

    dialect: Dialect
    page_size: int = 1000
    """Rows per read while streaming."""
    write_batch: int = 5000
    """Results per transaction in `record_results`."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[Tx]:
        """A short read that sees committed data."""

    @abstractmethod
    def _write(self) -> AbstractContextManager[Tx]:
        """One write transaction: committed when the block ends, rolled back if it raises."""

    def _migrate(self) -> list[str]:
        """Bring the schema up to date; return the names of the migrations applied now."""
        with self._write() as tx:
            if self.dialect.migration_lock:
                tx.execute(self.dialect.migration_lock)
            tx.execute(MIGRATIONS_TABLE.format(**self.dialect.types))
            applied = {name for (name,) in tx.fetchall("SELECT name FROM bg_migrations")}
            return apply_migrations(
                tx.execute,
                applied,
                self.dialect.types,
                lambda name: tx.execute(
                    "INSERT INTO bg_migrations (name, applied_at) VALUES (?, ?)",
                    (name, time.time()),
                ),
            )

    # -- jobs ---------------------------------------------------------------------------------
    def create_job(
        self,
        job: JobRecord,
        requests: Iterable[Request],
        placement: Placement | None = None,
        input_copy: Iterable[bytes] = (),
        ready: Callable[[int], None] | None = None,
    ) -> int:
        counter = _Counter()
        ledger = _ledger_rows(job, requests, counter, placement)
        chunks = (lambda: placement.chunks(job.id)) if placement is not None else list
        return self._write_job(job, ledger, chunks, counter, input_copy, ready)

    def create_job_stored(
        self,
        job: JobRecord,
        stored: Iterable[tuple[str, int]],
        chunks: Callable[[], list[ChunkRecord]],
        input_copy: Iterable[bytes] = (),
        ready: Callable[[int], None] | None = None,
    ) -> int:
        counter = _Counter()
        ledger = (
            (job.id, counter.next(), text, _QUEUED, 1, chunk, request_key(job.provider, text))
            for text, chunk in stored
        )
        return self._write_job(job, ledger, chunks, counter, input_copy, ready)

    def input_copy(self, job_id: str) -> Iterator[bytes]:
        part = 0
        while True:
            with self._read() as tx:
                row = tx.fetchone(
                    "SELECT data FROM bg_inputs WHERE job_id = ? AND part = ?", (job_id, part)
                )
            if row is None:
                return
            yield bytes(row[0])
            part += 1

    def _write_job(
        self,
        job: JobRecord,
        ledger: Iterable[tuple[Any, ...]],
        chunks: Callable[[], list[ChunkRecord]],
        counter: _Counter,
        input_copy: Iterable[bytes] = (),
        ready: Callable[[int], None] | None = None,
    ) -> int:
        """The job, its ledger rows, its chunks and its input copy, in one transaction."""
        refuse_secrets(job.spec)
        now = time.time()
        stored = replace(job, total=0, created_at=job.created_at or now, updated_at=now)
        with self._write() as tx:
            if tx.fetchone("SELECT 1 FROM bg_jobs WHERE id = ?", (job.id,)):
                raise ValueError(f"job {job.id!r} already exists; job ids are never reused")
            tx.execute(
                f"INSERT INTO bg_jobs ({rows.JOB_COLUMNS}) VALUES ({marks(9)})",
                rows.job_to_row(stored),
            )
            tx.insert_many("bg_ledger", _LEDGER_INSERT, ledger)
            tx.executemany(
                _INSERT_CHUNK,
                (rows.chunk_to_row(c, c.size) for c in chunks()),
            )
            reused = result_cache.reuse_answers(tx, job)
            for part, data in enumerate(input_copy):
                tx.execute(
                    "INSERT INTO bg_inputs (job_id, part, data) VALUES (?, ?, ?)",
                    (job.id, part, data),
                )
            tx.execute("UPDATE bg_jobs SET total = ? WHERE id = ?", (counter.count, job.id))
            if ready is not None:
                ready(counter.count - reused)
        if self.dialect.analyze and counter.count >= ANALYZE_AFTER:
            with self._read() as tx:
                tx.execute(self.dialect.analyze)
        return counter.count

    def get_job(self, job_id: str) -> JobRecord:
        with self._read() as tx:
            row = tx.fetchone(f"SELECT {rows.JOB_COLUMNS} FROM bg_jobs WHERE id = ?", (job_id,))
        if row is None:
            raise JobNotFound(job_id, self.where)
        return rows.job_from_row(row)

    def list_jobs(self) -> list[JobRecord]:
        with self._read() as tx:
            found = tx.fetchall(
                f"SELECT {rows.JOB_COLUMNS} FROM bg_jobs ORDER BY created_at DESC, id DESC"
            )
        return [rows.job_from_row(row) for row in found]

    def find_job_by_key(self, key: str) -> JobRecord | None:
        key_text = self.dialect.json_text.format(column="spec", key="job_key")
        with self._read() as tx:
            row = tx.fetchone(
                f"SELECT {rows.JOB_COLUMNS} FROM bg_jobs WHERE {key_text} = ? AND status <> ? "
                "ORDER BY created_at DESC, id DESC LIMIT 1",
                (key, JobStatus.CANCELLED.value),
            )
        return None if row is None else rows.job_from_row(row)

    def set_job_status(
        self, job_id: str, status: JobStatus, report: dict[str, JSON] | None = None
    ) -> None:
        text = None if report is None else rows.dump_json(report)
        with self._write() as tx:
            changed = tx.execute(
                "UPDATE bg_jobs SET status = ?, report = COALESCE(?, report), updated_at = ? "
                "WHERE id = ?",
                (JobStatus(status).value, text, time.time(), job_id),
            )
            if not changed:
                raise JobNotFound(job_id, self.where)

    # -- flows --------------------------------------------------------------------------------
    def save_flow(self, flow: FlowRecord, input_copy: Iterable[bytes] = ()) -> None:
        refuse_secrets(flow.spec)
        now = time.time()
        row = (
            flow.name,
            rows.dump_json(flow.spec),
            flow.status,
            rows.dump_json(flow.progress),
            now,
            None if flow.report is None else rows.dump_json(flow.report),
        )
        with self._write() as tx:
            changed = tx.execute(
                "UPDATE bg_flows SET name = ?, spec = ?, status = ?, progress = ?, "
                "updated_at = ?, report = ? WHERE id = ?",
                (*row, flow.id),
            )
            if not changed:
                tx.execute(
                    f"INSERT INTO bg_flows ({rows.FLOW_COLUMNS}) VALUES ({marks(8)})",
                    (
                        flow.id,
                        flow.name,
                        row[1],
                        flow.status,
                        row[3],
                        flow.created_at or now,
                        now,
                        row[5],
                    ),
                )
                for part, data in enumerate(input_copy):
                    tx.execute(
                        "INSERT INTO bg_inputs (job_id, part, data) VALUES (?, ?, ?)",
                        (flow_input_key(flow.id), part, data),
                    )

    def get_flow(self, flow_id: str) -> FlowRecord:
        with self._read() as tx:
            row = tx.fetchone(f"SELECT {rows.FLOW_COLUMNS} FROM bg_flows WHERE id = ?", (flow_id,))
        if row is None:
            raise FlowNotFound(flow_id, self.where)
        return rows.flow_from_row(row)

    def list_flows(self) -> list[FlowRecord]:
        with self._read() as tx:
            found = tx.fetchall(
                f"SELECT {rows.FLOW_COLUMNS} FROM bg_flows ORDER BY created_at DESC, id DESC"
            )
        return [rows.flow_from_row(row) for row in found]

    # -- chunks -------------------------------------------------------------------------------
    def pending_stored(self, job_id: str) -> Iterator[tuple[int, str]]:
        yield from self._stream("idx, request", "status = ?", (job_id, _PENDING))

    def add_chunk(self, chunk: ChunkRecord, indices: Sequence[int]) -> None:
        where = f"chunk {chunk.chunk} of job {chunk.job_id!r}"
        with self._write() as tx:
            self._require_job(tx, chunk.job_id)
            if tx.fetchone(
                "SELECT 1 FROM bg_chunks WHERE job_id = ? AND chunk = ?",
                (chunk.job_id, chunk.chunk),
            ):
                raise ValueError(f"{where} already exists; chunk numbers are never reused")
            tx.execute(
                _INSERT_CHUNK,
                rows.chunk_to_row(chunk, len(indices)),
            )
            # One statement per run of consecutive positions (a first round is one run).
            moved = tx.executemany(
                "UPDATE bg_ledger SET status = ?, attempt = attempt + 1, chunk = ? "
                "WHERE job_id = ? AND idx >= ? AND idx <= ? AND status = ?",
                (
                    (_QUEUED, chunk.chunk, chunk.job_id, first, last, _PENDING)
                    for first, last in index_runs(indices)
                ),
            )
            if moved != len(indices):
                raise ValueError(
                    f"{where}: {len(indices) - moved} of its {len(indices)} requests are not "
                    "PENDING (or repeat, or do not exist); nothing was changed"
                )

    def list_chunks(self, job_id: str) -> list[ChunkRecord]:
        with self._read() as tx:
            found = tx.fetchall(
                f"SELECT {rows.CHUNK_COLUMNS} FROM bg_chunks WHERE job_id = ? ORDER BY chunk",
                (job_id,),
            )
        return [rows.chunk_from_row(row) for row in found]

    def get_chunk(self, job_id: str, chunk: int) -> ChunkRecord:
        with self._read() as tx:
            return self._fetch_chunk(tx, job_id, chunk)

    def update_chunk(self, job_id: str, chunk: int, **changes: Any) -> ChunkRecord:
        columns = rows.chunk_changes(changes)
        with self._write() as tx:
            if columns:
                assignments = ", ".join(f"{name} = ?" for name in columns)
                tx.execute(
                    f"UPDATE bg_chunks SET {assignments} WHERE job_id = ? AND chunk = ?",
                    (*columns.values(), job_id, chunk),
                )
            return self._fetch_chunk(tx, job_id, chunk)

    def hand_over(self, job_id: str, chunk: int, into: ChunkRecord) -> int:
        with self._write() as tx:
            self._fetch_chunk(tx, job_id, chunk)
            if tx.fetchone(
                "SELECT 1 FROM bg_chunks WHERE job_id = ? AND chunk = ?", (job_id, into.chunk)
            ):
                raise ValueError(
                    f"chunk {into.chunk} of job {job_id!r} already exists; chunk numbers "
                    "are never reused"
                )
            left = tx.fetchone(
                "SELECT COUNT(*) FROM bg_ledger WHERE job_id = ? AND chunk = ? AND status = ?",
                (job_id, chunk, _QUEUED),
            )
            moved = int(left[0]) if left else 0
            if moved:
                tx.execute(_INSERT_CHUNK, rows.chunk_to_row(into, moved))
                tx.execute(
                    "UPDATE bg_ledger SET chunk = ? WHERE job_id = ? AND chunk = ? AND status = ?",
                    (into.chunk, job_id, chunk, _QUEUED),
                )
            tx.execute(
                "UPDATE bg_chunks SET status = ? WHERE job_id = ? AND chunk = ?",
                (ChunkStatus.COLLECTED.value, job_id, chunk),
            )
            return moved

    def chunk_stored(self, job_id: str, chunk: int) -> Iterator[tuple[int, str]]:
        yield from self._stream("idx, request", "chunk = ?", (job_id, chunk))

    def unanswered_stored(self, job_id: str, chunk: int) -> Iterator[tuple[int, str]]:
        yield from self._stream(
            "idx, request", "chunk = ? AND status = ?", (job_id, chunk, _QUEUED)
        )

    def chunk_indices(self, job_id: str, chunk: int) -> Iterator[int]:
        for (idx,) in self._stream("idx", "chunk = ?", (job_id, chunk)):
            yield idx

    # -- results ------------------------------------------------------------------------------
    def record_results(
        self, job_id: str, chunk: int, results: Iterable[tuple[int, Result]]
    ) -> Usage:
        with self._read() as tx:
            found = tx.fetchone(
                "SELECT host FROM bg_chunks WHERE job_id = ? AND chunk = ?", (job_id, chunk)
            )
        # An answer from another host (a deadline's hedge) is not the job's provider's answer.
        cache = found is not None and found[0] is None
        stream = iter(results)
        while batch := list(islice(stream, self.write_batch)):
            self._record_batch(job_id, chunk, batch, cache)
        with self._write() as tx:
            return self._sum_usage(tx, job_id, chunk)

    def _record_batch(
        self, job_id: str, chunk: int, batch: list[tuple[int, Result]], cache: bool
    ) -> None:
        """Write one bounded batch; rows no longer QUEUED in `chunk` are left as they are.

        Plain text answers, most results, go through a statement that binds only the columns
        they fill (each bound value costs about as much as a tenth of the row's update).
        """
        first: dict[int, Result] = {}
        for idx, result in batch:
            first.setdefault(idx, result)  # the first report wins
        texts: list[tuple[Any, ...]] = []
        others: list[tuple[Any, ...]] = []
        # In ledger order: providers report in any order, and rows updated in the order
        # they are stored share pages (a shuffled chunk is written about a quarter faster).
        for idx, result in sorted(first.items()):
            values = rows.text_result_row(result)
            if values is not None:
                texts.append((*values, job_id, idx, chunk))
            else:
                status = _OUTCOME_STATUS[result.outcome]
                others.append((status, *rows.result_to_row(result), job_id, idx, chunk))
        where = f"WHERE job_id = ? AND idx = ? AND chunk = ? AND status = '{_QUEUED}'"
        with self._write() as tx:
            if texts:
                tx.executemany(
                    f"UPDATE bg_ledger SET status = '{_SUCCEEDED}', {_SET_TEXT_RESULT} {where}",
                    texts,
                )
            if others:
                tx.executemany(f"UPDATE bg_ledger SET status = ?, {_SET_RESULT} {where}", others)
            if cache:
                succeeded = (i for i, r in sorted(first.items()) if r.outcome is Outcome.SUCCEEDED)
                result_cache.cache_answers(tx, time.time(), job_id, chunk, succeeded)

    @staticmethod
    def _sum_usage(tx: Tx, job_id: str, chunk: int) -> Usage:
        """Set the chunk's tokens to the sum of its rows' (a replay sums the same rows again,
        so every token counts once) and return them."""
        found = tx.fetchone(
            "SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
            "COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(cache_write_tokens), 0) "
            "FROM bg_ledger WHERE job_id = ? AND chunk = ?",
            (job_id, chunk),
        )
        usage = Usage()
        if found:
            (input_tokens, output_tokens, cached, written) = (int(n) for n in found)
            usage = Usage(input_tokens, output_tokens, cached, cache_write_tokens=written)
        tx.execute(
            "UPDATE bg_chunks SET input_tokens = ?, output_tokens = ?, cached_tokens = ?, "
            "cache_write_tokens = ? WHERE job_id = ? AND chunk = ?",
            (
                usage.input_tokens,
                usage.output_tokens,
                usage.cached_tokens,
                usage.cache_write_tokens,
                job_id,
                chunk,
            ),
        )
        return usage

    def requeue(self, job_id: str, statuses: set[LedgerStatus], max_attempts: int) -> int:
        unknown = set(statuses) - REQUEUE_STATUSES
        if unknown:
            names = ", ".join(sorted(s.value for s in unknown))
            raise ValueError(f"requeue() cannot send {names} requests again")
        others = sorted(s.value for s in statuses if s is not LedgerStatus.FAILED)
        conditions, params = [], []
        if others:
            conditions.append(f"status IN ({marks(len(others))})")
            params.extend(others)
        if LedgerStatus.FAILED in statuses:
            conditions.append("(status = ? AND error_retryable = 1)")
            params.append(LedgerStatus.FAILED.value)
        if not conditions:
            return 0
        with self._write() as tx:
            return tx.execute(
                f"UPDATE bg_ledger SET status = ?, chunk = NULL, {_CLEAR_RESULT} "
                f"WHERE job_id = ? AND attempt < ? AND ({' OR '.join(conditions)})",
                (_PENDING, job_id, max_attempts, *params),
            )

    def settle_chunk(self, job_id: str, chunk: int, status: LedgerStatus) -> int:
        if status not in SETTLE_STATUSES:
            raise ValueError(f"settle_chunk() takes expired, missing or cancelled, not {status}")
        with self._write() as tx:
            return tx.execute(
                "UPDATE bg_ledger SET status = ? WHERE job_id = ? AND chunk = ? AND status = ?",
                (status.value, job_id, chunk, _QUEUED),
            )

    def cancel_pending(self, job_id: str) -> int:
        with self._write() as tx:
            return tx.execute(
                "UPDATE bg_ledger SET status = ? WHERE job_id = ? AND status = ?",
                (LedgerStatus.CANCELLED.value, job_id, _PENDING),
            )

    def counts(self, job_id: str) -> dict[LedgerStatus, int]:
        with self._read() as tx:
            found = tx.fetchall(
                "SELECT status, COUNT(*) FROM bg_ledger WHERE job_id = ? GROUP BY status",
                (job_id,),
            )
        counts = dict.fromkeys(LedgerStatus, 0)
        for status, count in found:
            counts[LedgerStatus(status)] = int(count)
        return counts

    def counts_by_chunk(self, job_id: str) -> dict[int | None, dict[LedgerStatus, int]]:
        with self._read() as tx:
            found = tx.fetchall(
                "SELECT chunk, status, COUNT(*) FROM bg_ledger WHERE job_id = ? "
                "GROUP BY chunk, status",
                (job_id,),
            )
        counts: dict[int | None, dict[LedgerStatus, int]] = {}
        for chunk, status, count in found:
            key = None if chunk is None else int(chunk)
            counts.setdefault(key, {})[LedgerStatus(status)] = int(count)
        return counts

    def ledger(self, job_id: str) -> Iterator[LedgerRow]:
        for row in self._stream(rows.LEDGER_COLUMNS, None, (job_id,)):
            yield rows.ledger_from_row(row)

    def result_records(self, job_id: str) -> Iterator[dict[str, JSON]]:
        # The request's id and model are read by the database: it parses JSON faster than
        # we take a request's text to pieces.
        request = "request"
        columns = rows.RECORD_COLUMNS.format(
            id=self.dialect.json_text.format(column=request, key="id"),
            model=self.dialect.json_text.format(column=request, key="model"),
        )
        for row in self._stream(columns, None, (job_id,)):
            yield rows.result_record_from_row(row)

    # -- the result cache (`store.result_cache`) ----------------------------------------------
    def answer_duplicates(self, job_id: str) -> int:
        with self._write() as tx:
            return result_cache.answer_duplicates(tx, job_id)

    def reused_answers(self, job_id: str) -> list[ReusedAnswers]:
        with self._read() as tx:
            return result_cache.reused_answers(tx, self.dialect, job_id)

    def known_keys(self, keys: Sequence[bytes]) -> set[bytes]:
        with self._read() as tx:
            return result_cache.known_keys(tx, keys)

    def prune_cache(self, before: float) -> int:
        with self._write() as tx:
            return result_cache.prune(tx, before)

    def answered_models(self, provider: str) -> set[str]:
        with self._read() as tx:
            return result_cache.answered_models(tx, provider)

    def cache_size(self) -> int:
        with self._read() as tx:
            return result_cache.size(tx)

    # -- helpers ------------------------------------------------------------------------------
    def _stream(
        self, columns: str, where: str | None, params: tuple[Any, ...]
    ) -> Iterator[tuple[Any, ...]]:
        """Ledger rows of `params[0]`'s job in idx order, one page per read; `columns` starts
        with idx."""
        condition = f" AND {where}" if where else ""
        sql = (
            f"SELECT {columns} FROM bg_ledger WHERE job_id = ?{condition} AND idx > ? "
            f"ORDER BY idx LIMIT {int(self.page_size)}"
        )

        last = -1
        while True:
            with self._read() as tx:
                page = tx.fetchall(sql, (*params, last))
            yield from page
            if len(page) < self.page_size:
                return
            last = page[-1][0]

    def _require_job(self, tx: Tx, job_id: str) -> None:
        if tx.fetchone("SELECT 1 FROM bg_jobs WHERE id = ?", (job_id,)) is None:
            raise JobNotFound(job_id, self.where)

    def _fetch_chunk(self, tx: Tx, job_id: str, chunk: int) -> ChunkRecord:
        row = tx.fetchone(
            f"SELECT {rows.CHUNK_COLUMNS} FROM bg_chunks WHERE job_id = ? AND chunk = ?",
            (job_id, chunk),
        )
        if row is None:
            self._require_job(tx, job_id)
            raise LookupError(f"job {job_id!r} has no chunk {chunk}")
        return rows.chunk_from_row(row)


def _ledger_rows(
    job: JobRecord, requests: Iterable[Request], counter: _Counter, placement: Placement | None
) -> Iterator[tuple[Any, ...]]:
    """New ledger rows: PENDING, or QUEUED in the first-round chunk `placement` names."""
    job_id, provider = job.id, job.provider
    for request in requests:
        idx = counter.next()
        text = rows.request_to_text(request)
        key = request_key(provider, text)
        if placement is None:
            yield job_id, idx, text, _PENDING, 0, None, key
        else:
            yield job_id, idx, text, _QUEUED, 1, placement.place(idx, request, text), key


class _Counter:
    """Numbers the requests as they stream into the ledger, and remembers how many."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> int:
        self.count += 1
        return self.count - 1
