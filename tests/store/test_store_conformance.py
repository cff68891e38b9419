"""The behaviour every store backend must have; each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from lock_holder import hold_lock
from tests.patience import HANG_S

from batchgraph.errors import ConfigError, JobBusy, JobNotFound
from batchgraph.io.records import result_record
from batchgraph.model import Kind, Outcome, OutputSchema, ProviderError, Request, Result, Usage
from batchgraph.store.base import (
    ChunkMode,
    ChunkRecord,
    ChunkStatus,
    FlowRecord,
    JobRecord,
    JobStatus,
    LedgerStatus,
    Store,
)
from batchgraph.store.rows import request_to_text

P, Q = LedgerStatus.PENDING, LedgerStatus.QUEUED


def make_request(i: int) -> Request:
    return Request(
        id=f"r{i}",
        line=i + 1,
        model="gpt-test",
        messages=({"role": "user", "content": f"question {i}"},),
        max_tokens=16,
    )


def make_job(store: Store, n: int, job_id: str = "job1", **spec: Any) -> JobRecord:
    job = JobRecord(id=job_id, name=f"{job_id} name", provider="openai", spec=spec)
    store.create_job(job, (make_request(i) for i in range(n)))
    return job


def chunk_of(store: Store, job_id: str, chunk: int, indices: list[int]) -> None:
    store.add_chunk(ChunkRecord(job_id=job_id, chunk=chunk, attempt=1), indices)


def ok(idx: int, tokens: int = 10) -> tuple[int, Result]:
    usage = Usage(input_tokens=tokens, output_tokens=1, cached_tokens=0)
    return idx, Result(str(idx), Outcome.SUCCEEDED, "batch_1", text=f"answer {idx}", usage=usage)


def failed(idx: int, retryable: bool) -> tuple[int, Result]:
    error = ProviderError(
        "server_error" if retryable else "invalid_request", "boom", None, retryable
    )
    return idx, Result(str(idx), Outcome.FAILED, "batch_1", error=error)


def statuses(store: Store, job_id: str = "job1") -> list[LedgerStatus]:
    return [row.status for row in store.ledger(job_id)]


# -- jobs -------------------------------------------------------------------------------------


def test_job_round_trips_with_spec_total_and_timestamps(store: Store) -> None:
    spec = {"model": "gpt-test", "max_attempts": 3, "temperature": 0.5, "tags": ["a", "ü"]}
    count = store.create_job(
        JobRecord(id="job1", name="first", provider="openai", spec=spec),
        (make_request(i) for i in range(5)),
    )

    job = store.get_job("job1")
    assert count == 5
    assert (job.id, job.name, job.provider, job.spec) == ("job1", "first", "openai", spec)
    assert job.status is JobStatus.SUBMITTED
    assert job.total == 5
    assert job.created_at > 0 and job.updated_at >= job.created_at
    assert job.report is None


def test_unknown_job_raises_job_not_found(store: Store) -> None:
    with pytest.raises(JobNotFound):
        store.get_job("nope")
    with pytest.raises(JobNotFound):
        store.set_job_status("nope", JobStatus.DONE)


def test_creating_a_job_twice_is_refused(store: Store) -> None:
    make_job(store, 2)
    with pytest.raises(ValueError, match="already exists"):
        make_job(store, 3)
    assert store.get_job("job1").total == 2


def test_create_job_stores_nothing_when_the_input_fails_midway(store: Store) -> None:
    def requests() -> Iterator[Request]:
        yield make_request(0)
        yield make_request(1)
        raise OSError("input file vanished")

    job = JobRecord(id="job1", name="n", provider="openai", spec={})
    with pytest.raises(OSError):
        store.create_job(job, requests())
    with pytest.raises(JobNotFound):
        store.get_job("job1")
    assert sum(store.counts("job1").values()) == 0


def test_list_jobs_is_newest_first(store: Store) -> None:
    for n, job_id in enumerate(["a", "b", "c"]):
        job = JobRecord(id=job_id, name=job_id, provider="openai", spec={}, created_at=100.0 + n)
        store.create_job(job, [make_request(0)])
    assert [job.id for job in store.list_jobs()] == ["c", "b", "a"]


def test_find_job_by_key_returns_the_newest_open_job_with_that_key(store: Store) -> None:
    for n, (job_id, key) in enumerate([("zz", "k1"), ("b", "k2"), ("a", "k1"), ("c", "k3")]):
        spec = {"job_key": key}
        job = JobRecord(job_id, job_id, "openai", spec, created_at=100.0 + n)
        store.create_job(job, [make_request(0)])
    store.set_job_status("c", JobStatus.CANCELLED)

    found = store.find_job_by_key("k1")

    assert found is not None and found.id == "a"
    assert store.find_job_by_key("k3") is None
    assert store.find_job_by_key("nothing") is None


def test_a_flow_is_saved_changed_and_listed_newest_first(store: Store) -> None:
    first = FlowRecord("f1", "reviews", {"graph": "g:graph", "inputs": [{"x": 1}]},
                       progress={"wave": 0, "jobs": []}, created_at=100.0)  # fmt: skip
    store.save_flow(first)
    store.save_flow(FlowRecord("f2", "other", {"graph": "g:graph"}, created_at=200.0))

    first.status, first.progress = "done", {"wave": 3, "jobs": ["a", "b"]}
    first.report = {"threads": 1}
    store.save_flow(first)

    found = store.get_flow("f1")
    assert (found.status, found.progress, found.report) == ("done", first.progress, first.report)
    assert found.spec == {"graph": "g:graph", "inputs": [{"x": 1}]}
    assert [flow.id for flow in store.list_flows()] == ["f2", "f1"]
    with pytest.raises(JobNotFound):
        store.get_flow("nothing")


def test_a_flow_keeps_its_input_copy_in_parts_and_a_failed_copy_stores_nothing(
    store: Store,
) -> None:
    store.save_flow(FlowRecord("f1", "reviews", {"graph": "g:graph"}), [b'{"a": 1}\n', b"{}\n"])
    store.save_flow(FlowRecord("f1", "reviews", {"graph": "g:graph"}, status="done"))

    def broken() -> Iterator[bytes]:
        yield b'{"b": 2}\n'
        raise ConfigError("the input changed while it was read")

    with pytest.raises(ConfigError):
        store.save_flow(FlowRecord("f2", "other", {"graph": "g:graph"}), broken())

    assert list(store.flow_input("f1")) == [b'{"a": 1}\n', b"{}\n"]
    assert store.get_flow("f1").status == "done"
    assert list(store.flow_input("f2")) == []
    with pytest.raises(JobNotFound):
        store.get_flow("f2")


def test_set_job_status_keeps_the_report_unless_a_new_one_is_given(store: Store) -> None:
    make_job(store, 1)
    store.set_job_status("job1", JobStatus.DONE, {"counts": {"succeeded": 1}})
    store.set_job_status("job1", JobStatus.CANCELLED)
    job = store.get_job("job1")
    assert job.status is JobStatus.CANCELLED
    assert job.report == {"counts": {"succeeded": 1}}


@pytest.mark.parametrize(
    "spec",
    [
        {"api_key": "anything"},
        {"openai-api-key": "anything"},
        {"provider_options": {"apiKey": "anything"}},
        {"headers": {"Authorization": "Bearer abcdefghijkl"}},
        {"extra": [{"password": "hunter2"}]},
        {"note": "sk-proj-abcdefghijklmnopqrstuvwxyz0123"},
    ],
)
def test_create_job_refuses_a_spec_that_looks_like_it_holds_a_secret(
    store: Store, spec: dict[str, Any]
) -> None:
    job = JobRecord(id="job1", name="n", provider="openai", spec=spec)
    with pytest.raises(ConfigError, match="environment"):
        store.create_job(job, [make_request(0)])
    with pytest.raises(JobNotFound):
        store.get_job("job1")


def test_ordinary_options_that_mention_tokens_are_not_taken_for_secrets(store: Store) -> None:
    spec: dict[str, Any] = {"max_tokens": 5, "token_budget": 100, "keys": ["id"], "secretary": "x"}
    store.create_job(JobRecord(id="job1", name="n", provider="openai", spec=spec), [])
    assert store.get_job("job1").spec == spec


# -- ledger and chunks ------------------------------------------------------------------------


def test_ledger_of_10000_requests_streams_in_input_order(store: Store) -> None:
    make_job(store, 10_000)

    rows = list(store.ledger("job1"))

    assert [row.idx for row in rows] == list(range(10_000))
    assert [row.request for row in rows[:3]] == [make_request(i) for i in range(3)]
    assert rows[-1].request == make_request(9_999)
    assert {row.status for row in rows} == {P}
    assert all(row.attempt == 0 and row.chunk is None and row.result is None for row in rows)


def test_requests_keep_every_field_through_the_ledger(store: Store) -> None:
    rich = Request(
        id="ü-1",
        line=7,
        model="gpt-test",
        kind=Kind.CHAT,
        messages=({"role": "user", "content": "Grüße 👋"},),
        system="be brief",
        max_tokens=5,
        temperature=0.0,
        output_schema=OutputSchema("answer", {"type": "object"}),
    )
    embed = Request(id="e", line=8, model="embed-test", kind=Kind.EMBEDDING, input="text")
    store.create_job(JobRecord(id="job1", name="n", provider="openai", spec={}), [rich, embed])
    assert [row.request for row in store.ledger("job1")] == [rich, embed]


def test_result_records_read_from_columns_match_records_of_the_ledger(store: Store) -> None:
    odd = [
        Request(id='q"\\ü 👋\n', line=1, model='m"\\ü', system="s"),
        Request(id="", line=2, model="", kind=Kind.EMBEDDING, input="x"),
        *(make_request(n) for n in range(2, 6)),
    ]
    store.create_job(JobRecord(id="job1", name="n", provider="openai", spec={}), odd)
    chunk_of(store, "job1", 0, list(range(6)))
    rich = Result(
        "3", Outcome.SUCCEEDED, "b1", text="{}", parsed={"a": [1, "ü"]}, stop_reason="stop",
        model="gpt-test-2025", usage=Usage(7, 3, 2),
    )  # fmt: skip
    vector = Result("1", Outcome.SUCCEEDED, "b1", embedding=[0.25, -1.5], usage=Usage(4))
    store.record_results("job1", 0, [ok(2), (3, rich), (1, vector), failed(4, retryable=True)])

    records = list(store.result_records("job1"))

    assert [(r["id"], r["model"]) for r in records[:3]] == [
        (odd[0].id, odd[0].model),
        ("", ""),
        ("r2", "gpt-test"),
    ]
    assert records == [result_record(row) for row in store.ledger("job1")]
    assert records[0]["status"] == "queued" and records[0]["input_tokens"] is None
    assert records[4]["error_code"] is not None and records[3]["parsed"] == {"a": [1, "ü"]}


def test_adding_a_chunk_moves_its_pending_rows_to_queued_with_attempt_plus_one(
    store: Store,
) -> None:
    make_job(store, 6)
    store.add_chunk(ChunkRecord(job_id="job1", chunk=0, attempt=1, model="gpt-test"), [1, 3, 4])

    assert [idx for idx, _ in store.pending_stored("job1")] == [0, 2, 5]
    chunk = [
        (idx, Request.from_json(json.loads(text))) for idx, text in store.chunk_stored("job1", 0)
    ]
    assert [(idx, req.id) for idx, req in chunk] == [
        (1, "r1"),
        (3, "r3"),
        (4, "r4"),
    ]
    rows = list(store.ledger("job1"))
    assert [(r.status, r.attempt, r.chunk) for r in rows] == [
        (P, 0, None),
        (Q, 1, 0),
        (P, 0, None),
        (Q, 1, 0),
        (Q, 1, 0),
        (P, 0, None),
    ]
    chunk = store.get_chunk("job1", 0)
    assert (chunk.status, chunk.size, chunk.attempt, chunk.model) == (
        ChunkStatus.PLANNED,
        3,
        1,
        "gpt-test",
    )


def test_add_chunk_refuses_rows_that_are_not_pending_and_changes_nothing(store: Store) -> None:
    make_job(store, 4)
    chunk_of(store, "job1", 0, [0, 1])

    with pytest.raises(ValueError, match="not PENDING"):
        chunk_of(store, "job1", 1, [1, 2])
    with pytest.raises(ValueError, match="already exists"):
        chunk_of(store, "job1", 0, [3])

    assert [c.chunk for c in store.list_chunks("job1")] == [0]
    assert [idx for idx, _ in store.pending_stored("job1")] == [2, 3]


def test_chunks_can_be_planned_while_pending_rows_stream(store: Store) -> None:
    """The planner writes chunks while it reads the pending stream, page after page."""
    store.page_size = 7  # type: ignore[attr-defined]
    make_job(store, 50)
    seen: list[int] = []
    batch: list[int] = []
    number = 0
    for idx, _ in store.pending_stored("job1"):
        seen.append(idx)
        batch.append(idx)
        if len(batch) == 4:
            chunk_of(store, "job1", number, batch)
            number, batch = number + 1, []
    chunk_of(store, "job1", number, batch)

    assert seen == list(range(50))
    assert store.counts("job1")[Q] == 50


def test_update_chunk_changes_the_named_fields_only(store: Store) -> None:
    make_job(store, 2)
    chunk_of(store, "job1", 0, [0, 1])

    saved = store.update_chunk(
        "job1", 0, status=ChunkStatus.SUBMITTING, intent_at=1234.5, counts={"total": 2}
    )
    saved = store.update_chunk(
        "job1", 0, status=ChunkStatus.SUBMITTED, batch_id="batch_1", usage=Usage(3, 4, 1)
    )

    assert saved == store.get_chunk("job1", 0)
    assert saved.status is ChunkStatus.SUBMITTED
    assert (saved.batch_id, saved.intent_at, saved.counts) == ("batch_1", 1234.5, {"total": 2})
    assert saved.usage == Usage(3, 4, 1)
    assert (saved.size, saved.attempt) == (2, 1)


def test_update_chunk_refuses_unknown_fields_and_unknown_chunks(store: Store) -> None:
    make_job(store, 1)
    chunk_of(store, "job1", 0, [0])
    with pytest.raises(TypeError, match="colour"):
        store.update_chunk("job1", 0, colour="red")
    with pytest.raises(LookupError, match="no chunk 9"):
        store.update_chunk("job1", 9, status=ChunkStatus.SUBMITTED)
    with pytest.raises(JobNotFound):
        store.get_chunk("nope", 0)


def test_list_chunks_is_by_chunk_number(store: Store) -> None:
    make_job(store, 3)
    for number in (2, 0, 1):
        chunk_of(store, "job1", number, [number])
    assert [c.chunk for c in store.list_chunks("job1")] == [0, 1, 2]


# -- results ----------------------------------------------------------------------------------


def test_record_results_writes_outcomes_and_returns_their_usage(store: Store) -> None:
    make_job(store, 3)
    chunk_of(store, "job1", 0, [0, 1, 2])

    usage = store.record_results("job1", 0, [ok(2, tokens=7), failed(0, True), ok(1, tokens=5)])

    assert usage == Usage(12, 2, 0)
    assert statuses(store) == [LedgerStatus.FAILED, LedgerStatus.SUCCEEDED, LedgerStatus.SUCCEEDED]


def test_record_results_replayed_changes_nothing_and_counts_each_row_once(store: Store) -> None:
    make_job(store, 3)
    chunk_of(store, "job1", 0, [0, 1, 2])
    store.record_results("job1", 0, [ok(0), ok(1)])
    before = list(store.ledger("job1"))

    replay = store.record_results("job1", 0, [ok(0, tokens=99), failed(1, True), ok(2)])

    assert replay == Usage(30, 3, 0)  # rows 0 and 1 keep their first results
    assert store.get_chunk("job1", 0).usage == replay
    after = list(store.ledger("job1"))
    assert after[:2] == before[:2]
    assert after[2].status is LedgerStatus.SUCCEEDED


def test_record_results_keeps_the_first_report_of_a_request(store: Store) -> None:
    make_job(store, 1)
    chunk_of(store, "job1", 0, [0])
    usage = store.record_results("job1", 0, [ok(0, tokens=3), failed(0, False)])
    assert usage == Usage(3, 1, 0)
    assert statuses(store) == [LedgerStatus.SUCCEEDED]


def test_record_results_ignores_rows_of_other_chunks(store: Store) -> None:
    make_job(store, 2)
    chunk_of(store, "job1", 0, [0])
    chunk_of(store, "job1", 1, [1])
    assert store.record_results("job1", 0, [ok(1)]) == Usage()
    assert statuses(store) == [Q, Q]


def test_hand_over_moves_unanswered_rows_to_a_sync_chunk_and_collects_the_batch(
    store: Store,
) -> None:
    make_job(store, 4)
    chunk_of(store, "job1", 0, [0, 1, 2, 3])
    store.record_results("job1", 0, [ok(0, tokens=5), ok(2, tokens=7)])
    into = ChunkRecord(job_id="job1", chunk=1, attempt=1, mode=ChunkMode.SYNC, host="mistral")

    assert store.hand_over("job1", 0, into) == 2

    batch, hedge = store.list_chunks("job1")
    assert batch.status is ChunkStatus.COLLECTED and batch.usage == Usage(12, 2, 0)
    assert (hedge.size, hedge.sync, hedge.host, hedge.status) == (
        2,
        True,
        "mistral",
        ChunkStatus.PLANNED,
    )
    assert [(row.chunk, row.attempt) for row in store.ledger("job1")] == [
        (0, 1),
        (1, 1),
        (0, 1),
        (1, 1),
    ]
    assert [idx for idx, _ in store.unanswered_stored("job1", 1)] == [1, 3]
    # A result the batch reports late for a moved request changes nothing, costs nothing.
    assert store.record_results("job1", 0, [ok(1, tokens=100)]) == Usage(12, 2, 0)
    assert statuses(store) == [LedgerStatus.SUCCEEDED, Q, LedgerStatus.SUCCEEDED, Q]


def test_hand_over_with_nothing_left_writes_no_chunk(store: Store) -> None:
    make_job(store, 1)
    chunk_of(store, "job1", 0, [0])
    store.record_results("job1", 0, [ok(0)])
    into = ChunkRecord(job_id="job1", chunk=1, attempt=1, mode=ChunkMode.SYNC)
    assert store.hand_over("job1", 0, into) == 0
    assert [(c.chunk, c.status) for c in store.list_chunks("job1")] == [(0, ChunkStatus.COLLECTED)]


def test_hand_over_refuses_a_chunk_number_in_use_and_changes_nothing(store: Store) -> None:
    make_job(store, 2)
    chunk_of(store, "job1", 0, [0])
    chunk_of(store, "job1", 1, [1])
    with pytest.raises(ValueError, match="already exists"):
        store.hand_over("job1", 0, ChunkRecord(job_id="job1", chunk=1, attempt=1))
    assert store.get_chunk("job1", 0).status is ChunkStatus.PLANNED
    assert statuses(store) == [Q, Q]


def test_record_results_commits_in_bounded_batches(store: Store) -> None:
    """A collection that dies midway keeps the batches already written, and a replay ends it."""
    store.write_batch = 3  # type: ignore[attr-defined]
    make_job(store, 10)
    chunk_of(store, "job1", 0, list(range(10)))

    def dying() -> Iterator[tuple[int, Result]]:
        for idx in range(10):
            if idx == 7:
                raise ConnectionError("download cut")
            yield ok(idx)

    with pytest.raises(ConnectionError):
        store.record_results("job1", 0, dying())
    assert store.counts("job1")[LedgerStatus.SUCCEEDED] == 6

    store.record_results("job1", 0, (ok(idx) for idx in range(10)))
    assert store.counts("job1")[LedgerStatus.SUCCEEDED] == 10
    one = ok(0)[1].usage
    assert store.get_chunk("job1", 0).usage == Usage(
        10 * one.input_tokens, 10 * one.output_tokens, 10 * one.cached_tokens
    ), "the tokens of the cut-short collection and of its replay are counted once each"


def test_ledger_rows_carry_their_results_in_input_order(store: Store) -> None:
    make_job(store, 4)
    chunk_of(store, "job1", 0, [0, 1, 2, 3])
    parsed = Result(
        "0", Outcome.SUCCEEDED, "batch_1", text='{"a": 1}', parsed={"a": [1, "ü"]},
        stop_reason="stop", model="gpt-test-2026", usage=Usage(5, 6, 2),
    )  # fmt: skip
    embedding = Result("1", Outcome.SUCCEEDED, "batch_1", embedding=[0.1, -2.5e-8, 3.0])
    error = ProviderError("rate_limit", "slow down", {"error": {"code": 429}}, retryable=True)
    failure = Result("2", Outcome.FAILED, "batch_1", error=error)
    expired = Result("3", Outcome.EXPIRED, "batch_1")

    store.record_results("job1", 0, [(3, expired), (1, embedding), (2, failure), (0, parsed)])

    assert [row.result for row in store.ledger("job1")] == [parsed, embedding, failure, expired]


def test_requeue_moves_only_retryable_failures_and_only_under_max_attempts(store: Store) -> None:
    make_job(store, 5)
    chunk_of(store, "job1", 0, [0, 1, 2, 3, 4])
    missing = (3, Result("3", Outcome.MISSING, "batch_1"))
    store.record_results("job1", 0, [failed(0, True), failed(1, False), ok(2), missing])
    retry = {LedgerStatus.FAILED, LedgerStatus.EXPIRED, LedgerStatus.MISSING}

    assert store.requeue("job1", retry, max_attempts=1) == 0  # every row used its one attempt
    assert store.requeue("job1", retry, max_attempts=2) == 2

    assert [idx for idx, _ in store.pending_stored("job1")] == [0, 3]
    rows = list(store.ledger("job1"))
    assert [(r.status, r.chunk, r.result) for r in (rows[0], rows[3])] == [(P, None, None)] * 2
    assert rows[1].status is LedgerStatus.FAILED  # not retryable: stays failed
    assert rows[2].status is LedgerStatus.SUCCEEDED
    assert rows[4].status is Q  # still in its batch

    chunk_of(store, "job1", 1, [0, 3])
    assert [r.attempt for r in store.ledger("job1")] == [2, 1, 1, 2, 1]


def test_requeue_refuses_to_send_succeeded_or_open_rows_again(store: Store) -> None:
    make_job(store, 1)
    for status in (LedgerStatus.SUCCEEDED, P, Q):
        with pytest.raises(ValueError, match="cannot send"):
            store.requeue("job1", {status}, max_attempts=9)


def test_settle_chunk_gives_unanswered_rows_a_final_status(store: Store) -> None:
    make_job(store, 3)
    chunk_of(store, "job1", 0, [0, 1])
    store.record_results("job1", 0, [ok(0)])

    assert store.settle_chunk("job1", 0, LedgerStatus.EXPIRED) == 1
    assert statuses(store) == [LedgerStatus.SUCCEEDED, LedgerStatus.EXPIRED, P]
    with pytest.raises(ValueError):
        store.settle_chunk("job1", 0, LedgerStatus.SUCCEEDED)


def test_cancel_pending_leaves_rows_in_batches_alone(store: Store) -> None:
    make_job(store, 3)
    chunk_of(store, "job1", 0, [1])
    assert store.cancel_pending("job1") == 2
    assert statuses(store) == [LedgerStatus.CANCELLED, Q, LedgerStatus.CANCELLED]


def test_counts_name_every_status_and_add_up_to_the_total(store: Store) -> None:
    make_job(store, 10)
    make_job(store, 4, job_id="other")
    chunk_of(store, "job1", 0, [0, 1, 2, 3, 4, 5])
    store.record_results("job1", 0, [ok(0), ok(1), failed(2, False)])

    counts = store.counts("job1")

    assert set(counts) == set(LedgerStatus)
    assert counts[P] == 4 and counts[Q] == 3
    assert counts[LedgerStatus.SUCCEEDED] == 2 and counts[LedgerStatus.FAILED] == 1
    assert counts[LedgerStatus.EXPIRED] == 0
    assert sum(counts.values()) == store.get_job("job1").total == 10


# -- coordination -----------------------------------------------------------------------------


def test_lock_is_exclusive_across_processes_and_free_again_after(
    store: Store, backend: Any
) -> None:
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=hold_lock, args=(backend.location, "job1", held, release))
    child.start()
    try:
        assert held.wait(timeout=HANG_S), "the child never took the lock"
        with pytest.raises(JobBusy), store.lock("job1"):
            pass
        with store.lock("another-job"):
            pass
    finally:
        release.set()
        child.join(timeout=HANG_S)
    assert child.exitcode == 0
    with store.lock("job1"):
        pass


def test_lock_is_released_when_its_holder_dies(store: Store, backend: Any) -> None:
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=hold_lock, args=(backend.location, "job1", held, release))
    child.start()
    assert held.wait(timeout=HANG_S), "the child never took the lock"
    child.kill()
    child.join(timeout=HANG_S)
    # SQLite's lock goes with the process at once; PostgreSQL frees a dead client's lock when
    # its server process notices the closed connection, a moment later (longer under load).
    # The lock's own message says "try again in a moment": so does the test, until HANG_S.
    waited_until = time.monotonic() + HANG_S
    while True:
        try:
            with store.lock("job1"):
                return
        except JobBusy:
            if time.monotonic() > waited_until:
                raise
            time.sleep(0.05)


def test_lock_refuses_a_second_holder_in_the_same_process(
    store: Store, reopen: Callable[[], Store]
) -> None:
    other = reopen()
    with store.lock("job1"), pytest.raises(JobBusy, match="job1"), other.lock("job1"):
        pass
    with other.lock("job1"):
        pass


class CounterState(TypedDict):
    count: int


def test_checkpointer_keeps_a_graphs_state_across_reopening(
    store: Store, reopen: Callable[[], Store]
) -> None:
    builder = StateGraph(CounterState)
    builder.add_node("add", lambda state: {"count": state["count"] + 1})
    builder.add_edge(START, "add")
    builder.add_edge("add", END)
    config: Any = {"configurable": {"thread_id": "job1"}}

    graph = builder.compile(checkpointer=store.checkpointer())
    graph.invoke({"count": 1}, config, durability="sync")
    store.close()

    again = builder.compile(checkpointer=reopen().checkpointer())
    assert again.get_state(config).values == {"count": 2}
    again.invoke({"count": 10}, config, durability="sync")
    assert again.get_state(config).values == {"count": 11}


def test_reopening_applies_no_migration_twice(store: Store, reopen: Callable[[], Store]) -> None:
    make_job(store, 2)
    again = reopen()
    assert again.get_job("job1").total == 2
    assert again.counts("job1")[P] == 2


def test_a_new_database_opened_by_many_at_once_is_migrated_once(
    backend: Any, reopen: Callable[[], Store]
) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(reopen())
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    make_job(opened[0], 3)
    assert all(each.get_job("job1").total == 3 for each in opened)


def test_a_job_stored_as_text_keeps_its_rows_in_their_chunks(store: Store) -> None:
    requests = [make_request(n) for n in range(3)]
    stored = [(request_to_text(r), n // 2) for n, r in enumerate(requests)]
    chunks = [ChunkRecord("job1", 0, 1, size=2), ChunkRecord("job1", 1, 1, size=1)]

    total = store.create_job_stored(JobRecord(id="job1", name="n", provider="openai", spec={}),
                                    stored, lambda: chunks)  # fmt: skip

    assert total == 3
    assert [(r.request, r.status, r.attempt, r.chunk) for r in store.ledger("job1")] == [
        (requests[0], Q, 1, 0),
        (requests[1], Q, 1, 0),
        (requests[2], Q, 1, 1),
    ]
    assert [(c.chunk, c.size, c.status) for c in store.list_chunks("job1")] == [
        (0, 2, ChunkStatus.PLANNED),
        (1, 1, ChunkStatus.PLANNED),
    ]


def test_a_job_stored_as_text_is_not_stored_when_its_rows_fail_midway(store: Store) -> None:
    def failing() -> Iterator[tuple[str, int]]:
        yield request_to_text(make_request(0)), 0
        raise ValueError("the input went bad")

    with pytest.raises(ValueError):
        store.create_job_stored(JobRecord(id="job1", name="n", provider="openai", spec={}),
                                failing(), list)  # fmt: skip
    assert store.list_jobs() == []
