"""A job from input file to results, one tick at a time, on every provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.graph.nodes import wire_id
from batchgraph.io import ReadOptions
from batchgraph.providers.openai import OpenAIProvider
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import ChunkStatus, JobStatus

from .conftest import MODELS, PROVIDERS, sandbox_factory, write_prompts

NO_WAIT = Backoff(initial=0.0, cap=0.0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_job_runs_to_one_result_per_input_in_input_order(
    provider: str, bg: Batchgraph, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 50)
    job_id = bg.submit(source, provider=provider, options=ReadOptions(model=MODELS[provider]))

    view = run_job(bg, job_id, NO_WAIT)

    assert view.job.status is JobStatus.DONE
    assert view.counts["succeeded"] == 50
    out = bg.write_results(job_id, tmp_path / "out.jsonl")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [f"q{n}" for n in range(50)]
    assert all(r["status"] == "succeeded" and r["text"] for r in records)


def test_submit_plans_and_sends_then_returns(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(processing_seconds=3600.0, time_scale=1.0)
    source = write_prompts(tmp_path / "in.jsonl", 10)

    job_id = bg.submit(source, provider="openai", options=ReadOptions(model="gpt-4o-mini"))

    view = bg.view(job_id)
    assert [c.status for c in view.chunks] == [ChunkStatus.SUBMITTED]
    assert view.chunks[0].batch_id is not None
    assert view.counts["queued"] == 10
    assert len(batchgraph_sandbox.creations("openai")) == 1


def test_report_counts_what_is_in_flight_then_is_the_saved_final_account(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(processing_seconds=3600.0, time_scale=1.0)
    job_id = bg.submit(
        write_prompts(tmp_path / "in.jsonl", 4),
        provider="openai",
        options=ReadOptions(model="gpt-4o-mini"),
    )

    running = bg.report(job_id)
    assert running["counts"]["queued"] == 4 and running["batch_usd"] == 0.0

    bg.cancel(job_id)
    view = run_job(bg, job_id, NO_WAIT)
    assert view.job.report is not None
    assert bg.report(job_id) == view.job.report
    assert bg.report(job_id)["accounted"] is True


def test_small_batch_size_splits_job_into_several_batches(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 25)

    job_id = bg.submit(
        source, provider="mistral", options=ReadOptions(model="mistral-small-latest"), batch_size=10
    )
    view = run_job(bg, job_id, NO_WAIT)

    assert [c.size for c in view.chunks] == [10, 10, 5]
    assert len(batchgraph_sandbox.creations("mistral")) == 3
    assert view.counts["succeeded"] == 25


@pytest.mark.parametrize("provider", PROVIDERS)
def test_injected_failures_are_retried_in_new_batches_until_they_succeed(
    provider: str, bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(fail_ids=r"^(3|17)$")  # first-round ids of q3 and q17
    source = write_prompts(tmp_path / "in.jsonl", 20)

    job_id = bg.submit(source, provider=provider, options=ReadOptions(model=MODELS[provider]))
    view = run_job(bg, job_id, NO_WAIT)

    assert view.counts["succeeded"] == 20
    assert [c.size for c in view.chunks] == [20, 2]
    assert [c.attempt for c in view.chunks] == [1, 2]


def test_permanent_failures_stop_after_max_attempts_with_the_provider_error(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(fail_ids=r"^5(_\d)?$")  # q5 fails in every round
    source = write_prompts(tmp_path / "in.jsonl", 8)

    job_id = bg.submit(
        source, provider="openai", options=ReadOptions(model="gpt-4o-mini"), max_attempts=2
    )
    view = run_job(bg, job_id, NO_WAIT)

    assert view.counts["succeeded"] == 7
    assert view.counts["failed"] == 1
    row = next(r for r in bg.ledger(job_id) if r.request.id == "q5")
    assert row.attempt == 2
    assert row.result is not None and row.result.error is not None
    assert row.result.error.message
    report = view.job.report
    assert report is not None and report["accounted"] is True


def test_expired_batch_keeps_finished_results_and_resends_the_rest(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    # The 24 h window passes in half a second; only half of the requests finish within it.
    batchgraph_sandbox.configure(
        expire_fraction=0.5, time_scale=172800.0, processing_seconds=3600.0
    )
    source = write_prompts(tmp_path / "in.jsonl", 40)

    job_id = bg.submit(source, provider="openai", options=ReadOptions(model="gpt-4o-mini"))
    batchgraph_sandbox.configure(expire_fraction=None, processing_seconds=0.0)
    view = run_job(bg, job_id, NO_WAIT)

    first, *retries = view.chunks
    assert first.provider_status == "expired"
    assert 0 < sum(c.size for c in retries) < 40
    assert view.counts["succeeded"] == 40


def test_cancelled_job_keeps_what_finished_and_accounts_for_the_rest(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    # Cancelling takes 5 % of the processing time: a minute of processing keeps the batch
    # running through the cancel, and the cancel itself takes 3 seconds.
    batchgraph_sandbox.configure(processing_seconds=60.0, time_scale=1.0)
    source = write_prompts(tmp_path / "in.jsonl", 12)
    job_id = bg.submit(source, provider="anthropic", options=ReadOptions(model="claude-haiku-4-5"))

    bg.cancel(job_id)
    view = run_job(bg, job_id, NO_WAIT)

    assert view.job.status is JobStatus.CANCELLED
    assert view.counts["cancelled"] + view.counts["succeeded"] == 12
    assert view.job.report is not None and view.job.report["accounted"] is True


@pytest.mark.slow
def test_job_over_openai_caps_splits_retries_failures_and_accounts_for_every_request(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    total, attempts = 120_000, 4
    batchgraph_sandbox.configure(failure_rate=0.05)
    source = write_prompts(tmp_path / "in.jsonl", total)

    job_id = bg.submit(
        source, provider="openai", options=ReadOptions(model="gpt-4o-mini"), max_attempts=attempts
    )
    view = run_job(bg, job_id, NO_WAIT)

    fates = Fates(batchgraph_sandbox.config)
    never_succeed = [
        idx
        for idx in range(total)
        if all(fates.fails(wire_id(idx, attempt)) for attempt in range(1, attempts + 1))
    ]
    first_round = [c for c in view.chunks if c.attempt == 1]
    assert len(first_round) == 3
    assert sum(c.size for c in first_round) == total
    assert all(c.size <= OpenAIProvider.caps.max_requests for c in first_round)
    assert 5_000 < sum(c.size for c in view.chunks if c.attempt == 2) < 7_000
    assert view.counts["failed"] == len(never_succeed)
    assert view.counts["succeeded"] == total - len(never_succeed)
    report = view.job.report
    assert report is not None and report["accounted"] is True
    assert sum(report["counts"].values()) == total
    assert len(batchgraph_sandbox.creations("openai")) == len(view.chunks)


@pytest.mark.postgres
def test_job_runs_with_its_ledger_and_checkpoints_in_postgresql(
    postgres_location: str, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(fail_ids=r"^4$")
    source = write_prompts(tmp_path / "in.jsonl", 30)
    with Batchgraph.open(
        postgres_location,
        data_dir=tmp_path / "home",
        provider_factory=sandbox_factory(batchgraph_sandbox),
    ) as bg:
        job_id = bg.submit(
            source, provider="openai", options=ReadOptions(model="gpt-4o-mini"), batch_size=10
        )
        view = run_job(bg, job_id, NO_WAIT)
        state = bg.graph.get_state({"configurable": {"thread_id": job_id}}).values

    assert view.counts["succeeded"] == 30
    assert [c.size for c in view.chunks] == [10, 10, 10, 1]
    assert state["report"]["accounted"] is True
    assert {ticket["batch_id"] for ticket in state["chunks"].values()} == {
        c.batch_id for c in view.chunks
    }


@pytest.mark.parametrize(("provider", "model"), [("openai", "text-embedding-3-small"),
                                                 ("mistral", "mistral-embed"),
                                                 ("gemini", "gemini-embedding-001")])  # fmt: skip
def test_embedding_job_returns_one_vector_per_input(
    provider: str, model: str, bg: Batchgraph, tmp_path: Path
) -> None:
    source = tmp_path / "texts.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"t{n}", "input": f"text {n}"}) + "\n" for n in range(5))
    )

    job_id = bg.submit(source, provider=provider, options=ReadOptions(model=model))
    run_job(bg, job_id, NO_WAIT)

    rows = list(bg.ledger(job_id))
    vectors = [row.result.embedding for row in rows if row.result is not None]
    assert len(vectors) == 5
    assert all(vector and len(vector) == len(vectors[0]) for vector in vectors)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_requests_that_expire_in_every_round_say_why_in_the_results(
    provider: str, bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    # Every batch's window passes with only half of its requests done, in both rounds.
    batchgraph_sandbox.configure(
        expire_fraction=0.5, time_scale=172800.0, processing_seconds=3600.0
    )
    source = write_prompts(tmp_path / "in.jsonl", 20)
    job_id = bg.submit(
        source, provider=provider, options=ReadOptions(model=MODELS[provider]), max_attempts=2
    )
    view = run_job(bg, job_id, NO_WAIT)

    batches = {c.batch_id for c in view.chunks if c.attempt == 2}
    out = bg.write_results(job_id, tmp_path / "out.jsonl")
    expired = [
        r for r in map(json.loads, out.read_text().splitlines()) if r["status"] != "succeeded"
    ]
    assert expired and view.counts["expired"] == len(expired)
    for record in expired:
        assert record["attempts"] == 2 and record["batch_id"] in batches
        if record["error_code"] == "batch_expired":  # OpenAI's own error for the request
            assert "expired" in record["error_message"]
            continue
        assert record["error_code"] == "expired"
        assert record["error_message"] == (
            "expired: its batch's completion window ended before it ran "
            f"(after 2 attempts, last in batch {record['batch_id']})"
        )
