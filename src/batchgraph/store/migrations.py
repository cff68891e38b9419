"""The schema, as append-only named migrations shared by every backend.

Each migration runs once per database, in order, and its name is recorded in `bg_migrations`.
Never edit a released migration: add `m002_…` below it. The SQL is written once; `{INT}`,
`{BIGINT}`, `{REAL}` and `{BLOB}` become each backend's type names (`Dialect.types`).

The indexes serve the hot queries:
- `bg_ledger` primary key (job_id, idx): `record_results`, `ledger()` in input order;
- `bg_ledger_status` (job_id, status, idx): `pending_stored`, `counts`, `requeue`;
- `bg_ledger_chunk` (job_id, chunk, idx): `chunk_stored`, `chunk_indices` and the chunk's
  token sum in `record_results`;
- `bg_ledger_reused` (job_id, idx), only over rows answered without being sent: the report's
  reuse counts and the answering of a job's duplicates, without reading the whole job;
- `bg_cache` primary key (request_key): a new job's cache lookups, one probe per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "m001_initial",
        (
            """
            CREATE TABLE bg_jobs (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                provider TEXT NOT NULL,
                spec TEXT NOT NULL,
                status TEXT NOT NULL,
                total {BIGINT} NOT NULL DEFAULT 0,
                created_at {REAL} NOT NULL,
                updated_at {REAL} NOT NULL,
                report TEXT
            )
            """,
            "CREATE INDEX bg_jobs_created ON bg_jobs (created_at)",
            """
            CREATE TABLE bg_chunks (
                job_id TEXT NOT NULL,
                chunk {INT} NOT NULL,
                attempt {INT} NOT NULL,
                status TEXT NOT NULL,
                size {INT} NOT NULL,
                batch_id TEXT,
                intent_at {REAL},
                provider_status TEXT,
                counts TEXT NOT NULL,
                input_tokens {BIGINT} NOT NULL DEFAULT 0,
                output_tokens {BIGINT} NOT NULL DEFAULT 0,
                cached_tokens {BIGINT} NOT NULL DEFAULT 0,
                model TEXT,
                PRIMARY KEY (job_id, chunk)
            )
            """,
            """
            CREATE TABLE bg_ledger (
                job_id TEXT NOT NULL,
                idx {INT} NOT NULL,
                request TEXT NOT NULL,
                status TEXT NOT NULL,
                attempt {INT} NOT NULL DEFAULT 0,
                chunk {INT},
                custom_id TEXT,
                batch_id TEXT,
                result_text TEXT,
                parsed_json TEXT,
                embedding {BLOB},
                stop_reason TEXT,
                model TEXT,
                input_tokens {BIGINT},
                output_tokens {BIGINT},
                cached_tokens {BIGINT},
                error_code TEXT,
                error_message TEXT,
                error_raw TEXT,
                error_retryable {INT},
                PRIMARY KEY (job_id, idx)
            )
            """,
            "CREATE INDEX bg_ledger_status ON bg_ledger (job_id, status, idx)",
            "CREATE INDEX bg_ledger_chunk ON bg_ledger (job_id, chunk, idx)",
        ),
    ),
    Migration(
        "m002_chunk_provisional",
        # A batch found by a lookup that could not read its tag yet (see `ChunkRecord`).
        ("ALTER TABLE bg_chunks ADD COLUMN provisional {INT} NOT NULL DEFAULT 0",),
    ),
    Migration(
        "m003_result_details",
        # What an answer carries beyond its text, as one JSON object (tool calls, refusal,
        # log probabilities, reasoning tokens); NULL for the plain answers most jobs get.
        ("ALTER TABLE bg_ledger ADD COLUMN result_details TEXT",),
    ),
    Migration(
        "m004_flows",
        (
            """
            CREATE TABLE bg_flows (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                spec TEXT NOT NULL,
                status TEXT NOT NULL,
                progress TEXT NOT NULL,
                created_at {REAL} NOT NULL,
                updated_at {REAL} NOT NULL,
                report TEXT
            )
            """,
        ),
    ),
    Migration(
        "m005_job_inputs",
        # A copy of a table input, in parts, so results never need the input file.
        (
            """
            CREATE TABLE bg_inputs (
                job_id TEXT NOT NULL,
                part {INT} NOT NULL,
                data {BLOB} NOT NULL,
                PRIMARY KEY (job_id, part)
            )
            """,
        ),
    ),
    Migration(
        "m006_chunk_mode",
        (
            # How a chunk runs: as one provider batch, or by synchronous calls; and on which
            # host when not the job's own (a deadline's hedge may run elsewhere).
            "ALTER TABLE bg_chunks ADD COLUMN mode TEXT NOT NULL DEFAULT 'batch'",
            "ALTER TABLE bg_chunks ADD COLUMN host TEXT",
        ),
    ),
    Migration(
        "m007_cache_writes",
        (
            # Input tokens written to the provider's prompt cache (part of input_tokens),
            # priced apart: Anthropic charges them at 1.25x the input price.
            "ALTER TABLE bg_chunks ADD COLUMN cache_write_tokens {BIGINT} NOT NULL DEFAULT 0",
            "ALTER TABLE bg_ledger ADD COLUMN cache_write_tokens {BIGINT}",
        ),
    ),
    Migration(
        "m008_result_cache",
        (
            # The hash of what a request asks (`rows.request_key`): the result cache's key.
            "ALTER TABLE bg_ledger ADD COLUMN request_key {BLOB}",
            # How a row got its answer without being sent: 'cache' (an earlier job's) or
            # 'duplicate' (the row `same_as` of this job, which was sent).
            "ALTER TABLE bg_ledger ADD COLUMN reused TEXT",
            "ALTER TABLE bg_ledger ADD COLUMN same_as {INT}",
            "CREATE INDEX bg_ledger_reused ON bg_ledger (job_id, idx) WHERE reused IS NOT NULL",
            # The result cache: which ledger row holds the answer to a request key. Rows that
            # succeeded never change, so a pointer is enough (no answer is stored twice).
            """
            CREATE TABLE bg_cache (
                request_key {BLOB} PRIMARY KEY,
                job_id TEXT NOT NULL,
                idx {INT} NOT NULL,
                created_at {REAL} NOT NULL
            )
            """,
            "CREATE INDEX bg_cache_created ON bg_cache (created_at)",
        ),
    ),
)


def pending(applied: set[str]) -> list[Migration]:
    """The migrations not yet applied, in order."""
    return [m for m in MIGRATIONS if m.name not in applied]


def apply_migrations(
    execute: Callable[[str], object],
    applied: set[str],
    types: Mapping[str, str],
    record: Callable[[str], object],
) -> list[str]:
    """Run the missing migrations through `execute` and `record` each; return their names.

    The caller holds one write transaction (and the backend's migration lock) around this, so a
    half-applied migration is never visible and two processes never both apply one.
    """
    done = []
    for migration in pending(applied):
        for statement in migration.statements:
            execute(statement.format(**types))
        record(migration.name)
        done.append(migration.name)
    return done


MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS bg_migrations (name TEXT PRIMARY KEY, applied_at {REAL} NOT NULL)"
)
