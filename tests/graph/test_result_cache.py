"""The result cache over real HTTP: a request answered once is never paid for again — in a later
job (answered from the store) or repeated within a job (sent once) — unless asked to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.errors import ProviderCallError
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import JobStatus

from .conftest import sandbox_factory, write_prompts

NO_WAIT = Backoff(initial=0.0, cap=0.0)
OPTIONS = ReadOptions(model="gpt-4o-mini")


def results(bg: Batchgraph, job_id: str) -> list[dict[str, object]]:
    return list(bg.results(job_id))


def sent_requests(sandbox: SandboxHandle) -> int:
    return sum(c.request_count for c in sandbox.creations())


def test_a_second_job_over_the_same_3000_requests_costs_nothing_and_calls_no_provider(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 3000)
    first = bg.submit(source, provider="openai", options=OPTIONS)
    run_job(bg, first, NO_WAIT)
    assert bg.report(first)["paid_usd"] > 0
    calls_before = len(batchgraph_sandbox.provider_calls())

    second = bg.submit(source, provider="openai", options=OPTIONS, new=True)
    view = run_job(bg, second, NO_WAIT)

    assert second != first
    assert view.job.status is JobStatus.DONE
    assert batchgraph_sandbox.provider_calls()[calls_before:] == []
    report = bg.report(second)
    assert report["paid_usd"] == 0 and report["batches"] == 0
    assert report["reused"]["cache_hits"] == 3000
    assert report["reused"]["saved_usd"] == bg.report(first)["paid_usd"]
    assert report["counts"]["succeeded"] == 3000 and report["accounted"]
    again, before = results(bg, second), results(bg, first)
    assert [r["id"] for r in again] == [f"q{n}" for n in range(3000)]
    assert [r["text"] for r in again] == [r["text"] for r in before]


def test_a_later_job_sends_only_what_no_earlier_job_answered(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    first = bg.submit(write_prompts(tmp_path / "a.jsonl", 50), provider="openai", options=OPTIONS)
    run_job(bg, first, NO_WAIT)
    sent = sent_requests(batchgraph_sandbox)
    # The same 50 questions under other ids, in another order, and 10 new ones.
    source = tmp_path / "b.jsonl"
    lines = [{"id": f"x{n}", "prompt": f"Is {n} an even number?"} for n in reversed(range(60))]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))

    second = bg.submit(source, provider="openai", options=OPTIONS)
    run_job(bg, second, NO_WAIT)

    assert sent_requests(batchgraph_sandbox) - sent == 10
    records = results(bg, second)
    assert [r["id"] for r in records] == [f"x{n}" for n in reversed(range(60))]
    assert all(r["status"] == "succeeded" and r["text"] for r in records)
    assert bg.report(second)["reused"]["cache_hits"] == 50


def test_duplicates_within_a_job_are_sent_once_and_answered_in_every_place(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = tmp_path / "in.jsonl"
    prompts = ["Name a colour.", "Name a fruit.", "Name a colour.", "Name a colour.", "Hi"]
    lines = [{"id": f"d{n}", "prompt": prompt} for n, prompt in enumerate(prompts)]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))

    job = bg.submit(source, provider="openai", options=OPTIONS)
    run_job(bg, job, NO_WAIT)

    assert sent_requests(batchgraph_sandbox) == 3
    records = results(bg, job)
    assert [r["id"] for r in records] == ["d0", "d1", "d2", "d3", "d4"]
    assert all(r["status"] == "succeeded" for r in records)
    assert records[0]["text"] == records[2]["text"] == records[3]["text"]
    assert records[0]["text"] != records[1]["text"]
    report = bg.report(job)
    assert report["reused"] == {
        "cache_hits": 0,
        "duplicates": 2,
        "saved_usd": report["reused"]["saved_usd"],
    }
    assert report["reused"]["saved_usd"] > 0
    assert report["accounted"] and report["counts"]["succeeded"] == 5


def test_no_cache_sends_every_request_again(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = tmp_path / "in.jsonl"
    lines = [{"id": f"s{n}", "prompt": f"Tell a story about {n % 3}."} for n in range(6)]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    first = bg.submit(source, provider="openai", options=OPTIONS)
    run_job(bg, first, NO_WAIT)
    assert sent_requests(batchgraph_sandbox) == 3

    fresh = bg.submit(source, provider="openai", options=OPTIONS, cache=False)
    run_job(bg, fresh, NO_WAIT)

    assert fresh != first  # turning the cache off asks for a job of its own
    assert sent_requests(batchgraph_sandbox) == 3 + 6
    report = bg.report(fresh)
    assert report["reused"]["cache_hits"] == report["reused"]["duplicates"] == 0
    assert report["paid_usd"] > 0
    # Submitted again the same way, it is the same job: a re-run still never pays twice.
    assert bg.submit(source, provider="openai", options=OPTIONS, cache=False) == fresh


def test_failed_answers_are_not_reused(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 40)
    batchgraph_sandbox.configure(failure_rate=1.0)
    first = bg.submit(source, provider="openai", options=OPTIONS, max_attempts=1)
    run_job(bg, first, NO_WAIT)
    assert bg.report(first)["counts"]["failed"] == 40
    batchgraph_sandbox.configure(failure_rate=0.0)

    second = bg.submit(source, provider="openai", options=OPTIONS, new=True)
    run_job(bg, second, NO_WAIT)

    report = bg.report(second)
    assert report["reused"]["cache_hits"] == 0
    assert report["counts"]["succeeded"] == 40


def test_pruned_answers_are_paid_for_again(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 20)
    run_job(bg, bg.submit(source, provider="openai", options=OPTIONS), NO_WAIT)

    assert bg.prune_cache(3600.0) == 0
    assert bg.prune_cache(0.0) == 20

    second = bg.submit(source, provider="openai", options=OPTIONS, new=True)
    run_job(bg, second, NO_WAIT)
    assert bg.report(second)["reused"]["cache_hits"] == 0
    assert sent_requests(batchgraph_sandbox) == 40


@pytest.mark.postgres
def test_the_cache_and_duplicates_work_the_same_on_postgresql(
    postgres_location: str, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = tmp_path / "in.jsonl"
    lines = [{"id": f"p{n}", "prompt": f"Is {n % 40} a square?"} for n in range(120)]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with Batchgraph.open(
        postgres_location,
        data_dir=tmp_path / "home",
        provider_factory=sandbox_factory(batchgraph_sandbox),
    ) as pg:
        first = pg.submit(source, provider="openai", options=OPTIONS, batch_size=15)
        run_job(pg, first, NO_WAIT)
        assert sent_requests(batchgraph_sandbox) == 40  # each question once, 3 times asked
        calls_before = len(batchgraph_sandbox.provider_calls())

        second = pg.submit(source, provider="openai", options=OPTIONS, new=True)
        run_job(pg, second, NO_WAIT)

        assert batchgraph_sandbox.provider_calls()[calls_before:] == []
        for job_id, reused in ((first, {"duplicates": 80}), (second, {"cache_hits": 120})):
            records = list(pg.results(job_id))
            assert [r["id"] for r in records] == [f"p{n}" for n in range(120)]
            assert [r["text"] for r in records[40:]] == [r["text"] for r in records[:80]]
            report = pg.report(job_id)
            assert report["accounted"] and report["counts"]["succeeded"] == 120
            assert {k: report["reused"][k] for k in reused} == reused


def test_a_refused_key_refuses_only_a_job_with_requests_left_to_send(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 20)
    first = bg.submit(source, provider="openai", options=OPTIONS)
    run_job(bg, first, NO_WAIT)
    # From now on the provider refuses the access check (its cheapest authenticated read).
    batchgraph_sandbox.configure(
        refuse_calls=r"^GET /v1/batches", refuse_count=100, refuse_status=401
    )

    cached = bg.submit(source, provider="openai", options=OPTIONS, new=True)
    run_job(bg, cached, NO_WAIT)
    more = write_prompts(tmp_path / "more.jsonl", 21)
    with pytest.raises(ProviderCallError):
        bg.submit(more, provider="openai", options=OPTIONS)

    assert bg.report(cached)["reused"]["cache_hits"] == 20
    assert sorted(job.id for job in bg.jobs()) == sorted([first, cached])
