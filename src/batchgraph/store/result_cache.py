"""The result cache's SQL: each request answered once, across jobs and within one.

`bg_cache` maps a request's key (`store.cache_key`) to the ledger row holding its answer; a
row that succeeded never changes, so no answer is stored twice. The statements here run inside
the transactions `SqlStore` opens:

- when a job is written (`reuse_answers`): rows the cache answers become `succeeded` in no
  chunk, with the earlier answer and its tokens (what it would have cost); rows repeating an
  earlier row of the job wait in no chunk for its answer; the first round's chunks shrink to
  what is left. A kill at any moment leaves the job written with its reuse resolved, or not
  written at all;
- when a result batch is written (`cache_answers`): its successful answers join the cache in
  the same transaction, so an answer a job holds is an answer cached;
- before a job settles (`answer_duplicates`): each repeat takes its original's final state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from batchgraph.model import Usage
from batchgraph.store import rows
from batchgraph.store.base import JobRecord, LedgerStatus, Reuse, ReusedAnswers
from batchgraph.store.transactions import Dialect, Tx, index_runs, marks

_PENDING = LedgerStatus.PENDING.value
_QUEUED = LedgerStatus.QUEUED.value
_SUCCEEDED = LedgerStatus.SUCCEEDED.value
_RESULTS = ", ".join(rows.RESULT_COLUMNS)
_ANSWER_FROM_CACHE = (
    # One probe of the cache's key per row of the new job; the answer is copied, tokens and
    # all (what it would have cost), into a row that belongs to no chunk and so costs nothing.
    f"UPDATE bg_ledger SET status = '{_SUCCEEDED}', attempt = 0, chunk = NULL, "
    f"reused = '{Reuse.CACHE.value}', ({_RESULTS}) = ("
    f"SELECT {', '.join('s.' + c for c in rows.RESULT_COLUMNS)} FROM bg_cache c "
    "JOIN bg_ledger s ON s.job_id = c.job_id AND s.idx = c.idx "
    "WHERE c.request_key = bg_ledger.request_key) "
    "WHERE job_id = ? AND EXISTS (SELECT 1 FROM bg_cache c "
    "JOIN bg_ledger s ON s.job_id = c.job_id AND s.idx = c.idx "
    f"WHERE c.request_key = bg_ledger.request_key AND s.status = '{_SUCCEEDED}')"
)
_MARK_DUPLICATES = (
    # Every row asking what an earlier row of the job asks leaves its chunk and waits for that
    # row's answer (`answer_duplicates`); a job without duplicates changes nothing.
    f"UPDATE bg_ledger SET status = '{_QUEUED}', attempt = 0, chunk = NULL, "
    f"reused = '{Reuse.DUPLICATE.value}', same_as = d.first "
    "FROM (SELECT idx, MIN(idx) OVER (PARTITION BY request_key) AS first FROM bg_ledger "
    "WHERE job_id = ? AND reused IS NULL AND request_key IS NOT NULL) AS d "
    "WHERE bg_ledger.job_id = ? AND bg_ledger.idx = d.idx AND d.first < d.idx"
)
_ANY_DUPLICATE = (
    "SELECT 1 FROM bg_ledger WHERE job_id = ? AND reused IS NULL AND request_key IS NOT NULL "
    "GROUP BY request_key HAVING COUNT(*) > 1 LIMIT 1"
)
_ANSWER_DUPLICATES = (
    f"UPDATE bg_ledger SET status = o.status, ({_RESULTS}) = "
    f"({', '.join('o.' + c for c in rows.RESULT_COLUMNS)}) "
    "FROM bg_ledger AS o "
    f"WHERE bg_ledger.job_id = ? AND bg_ledger.reused = '{Reuse.DUPLICATE.value}' "
    f"AND bg_ledger.status = '{_QUEUED}' AND o.job_id = bg_ledger.job_id "
    f"AND o.idx = bg_ledger.same_as AND o.status NOT IN ('{_QUEUED}', '{_PENDING}')"
)
_CACHE_ANSWERS = (
    # The answers a result batch wrote, in the same transaction: an answer stored is an
    # answer cached, whenever the process dies. The first answer to a key stays.
    "INSERT INTO bg_cache (request_key, job_id, idx, created_at) "
    "SELECT request_key, job_id, idx, ? FROM bg_ledger "
    "WHERE job_id = ? AND idx >= ? AND idx <= ? AND chunk = ? "
    f"AND status = '{_SUCCEEDED}' AND request_key IS NOT NULL "
    "ON CONFLICT (request_key) DO NOTHING"
)
_KNOWN_KEYS = (
    "SELECT c.request_key FROM bg_cache c JOIN bg_ledger s ON s.job_id = c.job_id "
    f"AND s.idx = c.idx WHERE s.status = '{_SUCCEEDED}' AND c.request_key IN ({{marks}})"
)
KEYS_PER_PROBE = 500
"""Keys asked about in one statement by `known_keys` (well under every backend's limit on
bound parameters)."""


def reuse_answers(tx: Tx, job: JobRecord) -> int:
    """Take out of the new job's chunks, before anyone sees them, every row the cache answers
    and every row asking what an earlier row asks; then shrink the chunks to what is left and
    drop the emptied ones; return how many rows were taken out. A job whose spec says
    `cache: false` reuses nothing."""
    if job.spec.get("cache", True) is False:
        return 0
    moved = 0
    if tx.fetchone("SELECT 1 FROM bg_cache LIMIT 1") is not None:
        moved += tx.execute(_ANSWER_FROM_CACHE, (job.id,))
    # Finding none costs one grouping pass; only a job with duplicates pays for marking.
    if tx.fetchone(_ANY_DUPLICATE, (job.id,)) is not None:
        moved += tx.execute(_MARK_DUPLICATES, (job.id, job.id))
    if moved:
        tx.execute(
            "UPDATE bg_chunks SET size = (SELECT COUNT(*) FROM bg_ledger l "
            "WHERE l.job_id = bg_chunks.job_id AND l.chunk = bg_chunks.chunk) "
            "WHERE job_id = ?",
            (job.id,),
        )
        tx.execute("DELETE FROM bg_chunks WHERE job_id = ? AND size = 0", (job.id,))
    return moved


def cache_answers(tx: Tx, now: float, job_id: str, chunk: int, succeeded: Iterable[int]) -> None:
    """Add the rows of `chunk` at the ascending positions `succeeded` to the cache (the first
    answer to a key stays)."""
    tx.executemany(
        _CACHE_ANSWERS,
        ((now, job_id, start, end, chunk) for start, end in index_runs(succeeded)),
    )


def answer_duplicates(tx: Tx, job_id: str) -> int:
    """Give every repeat whose original has its final state that state; return how many."""
    return tx.execute(_ANSWER_DUPLICATES, (job_id,))


def reused_answers(tx: Tx, dialect: Dialect, job_id: str) -> list[ReusedAnswers]:
    """The job's rows answered without being sent, by kind of reuse and model, with tokens."""
    model = dialect.json_text.format(column="request", key="model")
    found = tx.fetchall(
        f"SELECT reused, {model}, COUNT(*), COALESCE(SUM(input_tokens), 0), "
        "COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cached_tokens), 0) "
        "FROM bg_ledger WHERE job_id = ? AND reused IS NOT NULL "
        f"AND status NOT IN ('{_QUEUED}', '{_PENDING}') "
        f"GROUP BY reused, {model} ORDER BY reused, {model}",
        (job_id,),
    )
    return [
        ReusedAnswers(Reuse(reuse), name, int(n), Usage(int(i), int(o), int(c)))
        for reuse, name, n, i, o, c in found
    ]


def known_keys(tx: Tx, keys: Sequence[bytes]) -> set[bytes]:
    """Those of `keys` the cache holds an answer for."""
    found: set[bytes] = set()
    for start in range(0, len(keys), KEYS_PER_PROBE):
        page = keys[start : start + KEYS_PER_PROBE]
        statement = _KNOWN_KEYS.format(marks=marks(len(page)))
        found.update(bytes(key) for (key,) in tx.fetchall(statement, page))
    return found


def prune(tx: Tx, before: float) -> int:
    """Forget the answers cached before `before` (Unix time); return how many."""
    return tx.execute("DELETE FROM bg_cache WHERE created_at < ?", (before,))


def answered_models(tx: Tx, provider: str) -> set[str]:
    """The models `provider` answered requests of in this store's jobs (not a hedge's host)."""
    found = tx.fetchall(
        "SELECT DISTINCT c.model FROM bg_chunks c JOIN bg_jobs j ON j.id = c.job_id "
        "WHERE j.provider = ? AND c.host IS NULL AND c.model IS NOT NULL "
        "AND c.output_tokens + c.input_tokens > 0",
        (provider,),
    )
    return {model for (model,) in found}


def size(tx: Tx) -> int:
    """How many answers the cache holds."""
    found = tx.fetchone("SELECT COUNT(*) FROM bg_cache")
    return int(found[0]) if found else 0
