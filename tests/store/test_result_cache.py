"""The result cache and within-job duplicates, as every store backend keeps them (each test runs
on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import pytest

from batchgraph.model import Outcome, ProviderError, Request, Result, Usage
from batchgraph.store.base import (
    ChunkRecord,
    ChunkStatus,
    JobRecord,
    LedgerStatus,
    Reuse,
    Store,
)
from batchgraph.store.cache_key import request_key
from batchgraph.store.rows import request_to_text

S, Q = LedgerStatus.SUCCEEDED, LedgerStatus.QUEUED


class PairsPlacement:
    """Places requests two to a chunk, as a first round planned while the job is written."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}

    def place(self, idx: int, request: Request, stored: str) -> int:
        self.sizes[idx // 2] = self.sizes.get(idx // 2, 0) + 1
        return idx // 2

    def chunks(self, job_id: str) -> list[ChunkRecord]:
        return [
            ChunkRecord(job_id=job_id, chunk=n, attempt=1, size=size, model="gpt-test")
            for n, size in sorted(self.sizes.items())
        ]


def ask(i: int, question: str, model: str = "gpt-test") -> Request:
    return Request(
        id=f"id-{i}",
        line=i + 1,
        model=model,
        messages=({"role": "user", "content": question},),
        max_tokens=16,
    )


def write_job(
    store: Store,
    job_id: str,
    questions: Sequence[str],
    provider: str = "openai",
    model: str = "gpt-test",
    **spec: object,
) -> None:
    job = JobRecord(id=job_id, name=job_id, provider=provider, spec=dict(spec))
    requests = (ask(i, q, model) for i, q in enumerate(questions))
    store.create_job(job, requests, PairsPlacement())


def answer(store: Store, job_id: str, chunk: int, outcome: Outcome = Outcome.SUCCEEDED) -> None:
    """Answer every row of the chunk: its text names the question it answered."""
    found = []
    error = None
    if outcome is not Outcome.SUCCEEDED:
        error = ProviderError("invalid_request", "refused", None, False)
    usage = Usage(input_tokens=100, output_tokens=10)
    for idx, text in store.chunk_stored(job_id, chunk):
        question = Request.from_json(json.loads(text)).messages[0]["content"]
        text = f"about {question}"
        found.append((idx, Result(str(idx), outcome, "batch-1", text, usage=usage, error=error)))
    store.record_results(job_id, chunk, found)


def rows(store: Store, job_id: str) -> list[tuple[str, LedgerStatus, int | None, str | None]]:
    return [
        (row.request.id, row.status, row.chunk, row.result.text if row.result else None)
        for row in store.ledger(job_id)
    ]


def test_a_later_job_takes_earlier_answers_and_sends_only_the_rest(store: Store) -> None:
    write_job(store, "first", ["a", "b", "c", "d"])
    answer(store, "first", 0)  # a, b answered; chunk 1 (c, d) never ran

    write_job(store, "second", ["b", "x", "a", "c", "y"])

    assert rows(store, "second") == [
        ("id-0", S, None, "about b"),
        ("id-1", Q, 0, None),
        ("id-2", S, None, "about a"),
        ("id-3", Q, 1, None),
        ("id-4", Q, 2, None),
    ]
    # The chunks hold only what is left to send; none is empty.
    assert [(c.chunk, c.size) for c in store.list_chunks("second")] == [(0, 1), (1, 1), (2, 1)]
    reused = store.reused_answers("second")
    assert [(r.reuse, r.model, r.requests) for r in reused] == [(Reuse.CACHE, "gpt-test", 2)]
    assert reused[0].usage == Usage(input_tokens=200, output_tokens=20)
    assert store.counts("second")[S] == 2


def test_a_job_the_cache_answers_whole_has_no_chunk(store: Store) -> None:
    write_job(store, "first", ["a", "b", "c"])
    answer(store, "first", 0)
    answer(store, "first", 1)

    write_job(store, "again", ["c", "a", "b", "a"])

    assert store.list_chunks("again") == []
    assert [r[1] for r in rows(store, "again")] == [S, S, S, S]
    assert [r[0] for r in rows(store, "again")] == ["id-0", "id-1", "id-2", "id-3"]
    assert store.reused_answers("again")[0].requests == 4


def test_errors_are_never_cached(store: Store) -> None:
    write_job(store, "first", ["a", "b"])
    answer(store, "first", 0, Outcome.FAILED)
    assert store.cache_size() == 0

    write_job(store, "second", ["a", "b"])

    assert rows(store, "second") == [("id-0", Q, 0, None), ("id-1", Q, 0, None)]


def test_the_cache_key_holds_provider_and_model_but_not_id_or_line(store: Store) -> None:
    write_job(store, "first", ["a", "b"])
    answer(store, "first", 0)

    write_job(store, "other-provider", ["a"], provider="mistral")
    write_job(store, "other-model", ["a"], model="gpt-other")
    write_job(store, "moved", ["z", "z", "b"])

    assert rows(store, "other-provider")[0][1] is Q
    assert rows(store, "other-model")[0][1] is Q
    assert rows(store, "moved")[2] == ("id-2", S, None, "about b")
    first = request_to_text(ask(0, "a"))
    assert request_key("openai", first) == request_key("openai", request_to_text(ask(7, "a")))
    assert request_key("openai", first) != request_key("mistral", first)


def test_duplicates_in_a_job_are_sent_once_and_each_gets_the_answer(store: Store) -> None:
    write_job(store, "job", ["a", "b", "a", "a", "c", "b"])

    # Only the first of each question is in a chunk; the rest wait for its answer.
    assert [(r[1], r[2]) for r in rows(store, "job")] == [
        (Q, 0), (Q, 0), (Q, None), (Q, None), (Q, 2), (Q, None)
    ]  # fmt: skip
    assert [(c.chunk, c.size) for c in store.list_chunks("job")] == [(0, 2), (2, 1)]
    assert store.answer_duplicates("job") == 0  # nothing answered yet: nobody moves

    answer(store, "job", 0)
    answer(store, "job", 2)
    assert store.answer_duplicates("job") == 3

    assert rows(store, "job") == [
        ("id-0", S, 0, "about a"),
        ("id-1", S, 0, "about b"),
        ("id-2", S, None, "about a"),
        ("id-3", S, None, "about a"),
        ("id-4", S, 2, "about c"),
        ("id-5", S, None, "about b"),
    ]
    assert store.answer_duplicates("job") == 0
    reused = store.reused_answers("job")
    assert [(r.reuse, r.requests) for r in reused] == [(Reuse.DUPLICATE, 3)]
    # Only the three answers sent are cached (once each).
    assert store.cache_size() == 3


def test_a_duplicate_takes_its_originals_failure_too(store: Store) -> None:
    write_job(store, "job", ["a", "a"])
    answer(store, "job", 0, Outcome.FAILED)

    assert store.answer_duplicates("job") == 1

    ledger = list(store.ledger("job"))
    assert [row.status for row in ledger] == [LedgerStatus.FAILED, LedgerStatus.FAILED]
    assert ledger[1].result is not None and ledger[1].result.error is not None
    assert ledger[1].result.error.message == "refused"


def test_a_job_without_the_cache_sends_everything_and_still_fills_it(store: Store) -> None:
    write_job(store, "first", ["a", "b"])
    answer(store, "first", 0)

    write_job(store, "fresh", ["a", "a", "b", "c"], cache=False)

    assert [(r[1], r[2]) for r in rows(store, "fresh")] == [(Q, 0), (Q, 0), (Q, 1), (Q, 1)]
    assert store.reused_answers("fresh") == []
    answer(store, "fresh", 1)
    assert store.cache_size() == 3  # c was new; a and b keep their first answers


def test_pending_rows_are_reused_too_when_no_chunk_was_planned(store: Store) -> None:
    write_job(store, "first", ["a"])
    answer(store, "first", 0)

    job = JobRecord(id="plain", name="plain", provider="openai", spec={})
    store.create_job(job, [ask(0, "a"), ask(1, "b"), ask(2, "b")])

    assert [row.status for row in store.ledger("plain")] == [S, LedgerStatus.PENDING, Q]
    assert [idx for idx, _ in store.pending_stored("plain")] == [1]


def test_answers_of_another_host_are_not_cached(store: Store) -> None:
    write_job(store, "job", ["a", "b", "c"])
    store.update_chunk("job", 0, host="mistral")
    answer(store, "job", 0)
    answer(store, "job", 1)

    assert store.cache_size() == 1  # c only: a and b came from the hedge's host


def test_a_replayed_collection_caches_each_answer_once(store: Store) -> None:
    write_job(store, "job", ["a", "b"])
    answer(store, "job", 0)
    answer(store, "job", 0)
    assert store.cache_size() == 2


def test_prune_forgets_old_answers_and_later_jobs_pay_for_them_again(store: Store) -> None:
    write_job(store, "first", ["a", "b"])
    answer(store, "first", 0)

    assert store.prune_cache(time.time() - 3600) == 0
    assert store.prune_cache(time.time() + 1) == 2
    assert store.cache_size() == 0

    write_job(store, "second", ["a", "b"])
    assert [r[1] for r in rows(store, "second")] == [Q, Q]
    # The first job keeps its results.
    assert [r[1] for r in rows(store, "first")] == [S, S]


def test_an_emptied_chunk_is_dropped_and_the_others_keep_their_numbers(store: Store) -> None:
    write_job(store, "first", ["a", "b"])
    answer(store, "first", 0)
    write_job(store, "second", ["a", "b", "c"])

    assert [c.chunk for c in store.list_chunks("second")] == [1]
    assert store.get_chunk("second", 1).status is ChunkStatus.PLANNED


def test_a_job_stored_as_text_reuses_answers_and_duplicates_too(store: Store) -> None:
    write_job(store, "first", ["a", "b"])
    answer(store, "first", 0)
    requests = [ask(n, q) for n, q in enumerate(["b", "x", "x", "y"])]
    stored = [(request_to_text(r), n // 2) for n, r in enumerate(requests)]
    chunks = [ChunkRecord("big", 0, 1, size=2), ChunkRecord("big", 1, 1, size=2)]

    store.create_job_stored(
        JobRecord(id="big", name="big", provider="openai", spec={}), stored, lambda: chunks
    )

    assert rows(store, "big") == [
        ("id-0", S, None, "about b"),
        ("id-1", Q, 0, None),
        ("id-2", Q, None, None),
        ("id-3", Q, 1, None),
    ]
    assert [(c.chunk, c.size) for c in store.list_chunks("big")] == [(0, 1), (1, 1)]


def test_a_refusal_once_the_job_is_resolved_stores_nothing(store: Store) -> None:
    write_job(store, "first", ["a"])
    answer(store, "first", 0)
    seen: list[int] = []

    def refuse(left: int) -> None:
        seen.append(left)
        raise PermissionError("the key was refused")

    job = JobRecord(id="refused", name="r", provider="openai", spec={})
    with pytest.raises(PermissionError):
        store.create_job(job, [ask(0, "a"), ask(1, "b"), ask(2, "b")], PairsPlacement(), (), refuse)

    assert seen == [1]  # a from the cache, the second b a duplicate: one request to send
    assert [j.id for j in store.list_jobs()] == ["first"]
    assert store.list_chunks("refused") == []
