"""Deadlines: batches still running at the deadline minus its margin are cancelled, what they
finished is kept, and the rest is answered by synchronous calls — every input once.

The graph reads the time from `Deps.clock`; these tests move that clock past the hedge time
instead of waiting, and make the sandbox's batches straggle (never end by themselves), so
nothing depends on how fast the machine is.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.execution import Execution
from batchgraph.model import Outcome, Result
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import ChunkStatus, LedgerStatus
from tests.graph.conftest import MODELS, write_prompts

STRAGGLERS = r"(^|-)\d*0$"
"""Requests whose number ends in 0 never finish in a batch: 10 of every 100 (custom ids are
the ledger position, after the batch's tag on Anthropic and Gemini)."""


class Clock:
    """The graph's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def run(bg: Batchgraph, job_id: str) -> None:
    run_job(bg, job_id, Backoff(initial=0.01, cap=0.05), sleep=lambda _s: None)


def straggling_job(
    bg: Batchgraph,
    sandbox: SandboxHandle,
    folder: Path,
    provider: str,
    count: int,
    hedge: str | None = None,
    **config: object,
) -> tuple[str, Clock, float]:
    """A job of `count` requests, a tenth straggling, whose batches were created and are
    running, its hedge time (an hour's deadline minus 10 minutes) not come yet; returns it,
    the graph's clock and the deadline."""
    sandbox.configure(straggle_ids=STRAGGLERS, **config)
    source = write_prompts(folder / "in.jsonl", count, MODELS[provider])
    clock = Clock()
    bg.deps.clock = clock
    execution = Execution.by_deadline("1h", margin="10m", hedge_provider=hedge)
    job_id = bg.submit(source, provider=f"sandbox-{provider}", execution=execution, new=True)
    bg.tick(job_id)
    chunks = bg.view(job_id).chunks
    assert chunks and all(c.status is ChunkStatus.SUBMITTED and not c.sync for c in chunks)
    stored = Execution.from_spec(bg.view(job_id).job.spec)
    assert stored.deadline is not None and stored.hedge_at() == stored.deadline - 600
    return job_id, clock, stored.deadline


def hedged_job(
    bg: Batchgraph, sandbox: SandboxHandle, folder: Path, count: int, hedge: str | None = None
) -> str:
    """An OpenAI job of `count` requests, a tenth straggling, run to its end past its hedge."""
    job_id, clock, deadline = straggling_job(bg, sandbox, folder, "openai", count, hedge)
    clock.now = deadline - 600
    run(bg, job_id)
    return job_id


def hedge_begun(
    bg: Batchgraph, sandbox: SandboxHandle, folder: Path, provider: str, **config: object
) -> tuple[str, Clock, float]:
    """A job of 20 requests, a tenth straggling, after one step at its hedge time."""
    job_id, clock, deadline = straggling_job(bg, sandbox, folder, provider, 20, None, **config)
    clock.now = deadline - 600
    bg.tick(job_id)
    return job_id, clock, deadline


@pytest.mark.parametrize("provider", ["openai", "anthropic", "mistral"])
def test_stragglers_are_finished_synchronously_by_the_deadline(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path, provider: str
) -> None:
    job_id, clock, deadline = straggling_job(bg, batchgraph_sandbox, tmp_path, provider, 100)
    bg.tick(job_id)  # before the hedge time: the batch runs on
    assert not bg.view(job_id).finished
    assert batchgraph_sandbox.sync_calls(provider) == []
    clock.now = deadline - 600
    run(bg, job_id)

    view = bg.view(job_id)
    assert view.finished and time.time() < deadline
    records = list(bg.results(job_id))
    assert [r["id"] for r in records] == [f"q{n}" for n in range(100)]
    assert Counter(r["status"] for r in records) == {"succeeded": 100}
    by_sync = {r["id"] for r in records if r["batch_id"] == "sync"}
    assert by_sync == {f"q{n}" for n in range(0, 100, 10)}
    assert len(batchgraph_sandbox.sync_calls(provider)) == 10  # the stragglers only, once each
    assert len(batchgraph_sandbox.creations(provider)) == 1  # no batch created again
    report = bg.report(job_id)
    split = report["execution"]
    assert report["accounted"]
    assert (split["batch_requests"], split["hedge_requests"]) == (90, 10)
    assert split["batch_requests"] + split["sync_requests"] + split["unsent_requests"] == 100
    assert split["hedge_provider"] == f"sandbox-{provider}"
    assert split["hedge_usd"] > 0 and split["batch_usd"] > 0
    assert report["paid_usd"] == pytest.approx(split["batch_usd"] + split["hedge_usd"])


def test_a_hedge_can_run_on_another_provider(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    job_id = hedged_job(bg, batchgraph_sandbox, tmp_path, 40, hedge="sandbox-mistral")

    assert batchgraph_sandbox.sync_calls("openai") == []
    assert len(batchgraph_sandbox.sync_calls("mistral")) == 4
    hedged = [c for c in bg.view(job_id).chunks if c.sync]
    assert [c.host for c in hedged] == ["sandbox-mistral"]
    split = bg.report(job_id)["execution"]
    assert (split["batch_requests"], split["hedge_requests"]) == (36, 4)
    assert split["hedge_provider"] == "sandbox-mistral"
    assert Counter(r["status"] for r in bg.results(job_id)) == {"succeeded": 40}


def test_chunks_not_sent_by_the_hedge_time_are_sent_synchronously(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 30, MODELS["openai"])
    clock = Clock()
    bg.deps.clock = clock
    execution = Execution.by_deadline("1h", margin="10m")
    job_id = bg.create(source, provider="sandbox-openai", execution=execution, batch_size=10)
    hedge_at = Execution.from_spec(bg.view(job_id).job.spec).hedge_at()
    assert hedge_at is not None
    clock.now = hedge_at  # the hedge time has come before the first step
    run(bg, job_id)

    assert batchgraph_sandbox.creations("openai") == []
    assert len(batchgraph_sandbox.sync_calls("openai")) == 30
    split = bg.report(job_id)["execution"]
    assert (split["batch_requests"], split["hedge_requests"]) == (0, 30)


def test_a_late_batch_result_changes_nothing_once_the_hedge_has_the_request(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    job_id = hedged_job(bg, batchgraph_sandbox, tmp_path, 20)
    batch_chunk = next(c for c in bg.view(job_id).chunks if not c.sync)
    before = bg.report(job_id)

    late = Result("10", Outcome.SUCCEEDED, batch_chunk.batch_id or "", text="late answer")
    bg.store.record_results(job_id, batch_chunk.chunk, [(10, late)])

    rows = {row.idx: row for row in bg.ledger(job_id)}
    assert rows[10].status is LedgerStatus.SUCCEEDED
    assert rows[10].result is not None and rows[10].result.text != "late answer"
    assert rows[10].chunk != batch_chunk.chunk
    after = bg.store.get_chunk(job_id, batch_chunk.chunk)
    assert after.usage == batch_chunk.usage
    assert sum(bg.store.counts(job_id).values()) == 20
    assert bg.report(job_id)["execution"] == before["execution"]


def test_a_batch_still_cancelling_is_waited_for_until_half_the_margin_is_left(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # Cancelling takes a while here (5% of an hour of processing, at real speed).
    job_id, clock, deadline = hedge_begun(
        bg, batchgraph_sandbox, tmp_path, "anthropic", processing_seconds=3600.0
    )
    chunk = bg.view(job_id).chunks[0]
    assert chunk.status is ChunkStatus.SUBMITTED and chunk.provider_status == "canceling"
    assert batchgraph_sandbox.sync_calls("anthropic") == []

    clock.now = deadline - 300  # half the margin left: stop waiting
    run(bg, job_id)
    records = list(bg.results(job_id))
    assert Counter(r["status"] for r in records) == {"succeeded": 20}
    assert len(batchgraph_sandbox.sync_calls("anthropic")) == 20
    assert bg.report(job_id)["execution"]["hedge_requests"] == 20


def test_status_and_cost_show_the_deadline_and_the_split(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from batchgraph.cli import app

    job_id = hedged_job(bg, batchgraph_sandbox, tmp_path, 20)

    db = str(tmp_path / "jobs.db")
    for command in ("status", "cost"):
        shown = CliRunner().invoke(app, [command, job_id, "--db", db], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        text = " ".join(shown.output.split())
        assert "hedge from" in text and "on sandbox-openai" in text
        assert "18 requests by batch" in text and "2 by hedge on sandbox-openai" in text


def test_a_gemini_job_is_hedged_on_a_provider_with_a_synchronous_api(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # Gemini has no cancelling state (a cancelled batch reads as running until it stops) and
    # no synchronous API in batchgraph: its hedge runs elsewhere.
    job_id, clock, deadline = straggling_job(
        bg, batchgraph_sandbox, tmp_path, "gemini", 30, hedge="sandbox-openai"
    )
    clock.now = deadline - 600
    run(bg, job_id)

    assert Counter(r["status"] for r in bg.results(job_id)) == {"succeeded": 30}
    assert len(batchgraph_sandbox.sync_calls("openai")) == 3
    assert len(batchgraph_sandbox.creations("gemini")) == 1
    split = bg.report(job_id)["execution"]
    assert (split["batch_requests"], split["hedge_requests"]) == (27, 3)


def test_a_hedge_can_run_on_your_own_server_named_by_base_url(
    batchgraph_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from batchgraph.cli import app
    from batchgraph.providers import sandbox_base_url
    from batchgraph.providers.settings import SANDBOX_API_KEY

    batchgraph_sandbox.configure(straggle_ids=STRAGGLERS)
    monkeypatch.setenv("OPENAI_API_KEY", SANDBOX_API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", sandbox_base_url("openai", batchgraph_sandbox.url))
    source = write_prompts(tmp_path / "in.jsonl", 20, MODELS["openai"])
    db = str(tmp_path / "own.db")
    own_server = ["--hedge-provider", "openai-compatible", "--base-url",
                  batchgraph_sandbox.base_url("local")]  # fmt: skip
    flags = ["--deadline", "1h", "--hedge-margin", "10m", *own_server, "--db", db]
    submitted = CliRunner().invoke(app, ["submit", str(source), "-p", "openai", *flags])
    assert submitted.exit_code == 0, submitted.output

    with Batchgraph.open(db, data_dir=tmp_path / "home") as bg:
        (job,) = bg.jobs()
        assert "host" not in job.spec  # the job's own provider reads its address as usual
        assert job.spec["hedge_host"] == {"base_url": batchgraph_sandbox.base_url("local")}
        hedge_at = Execution.from_spec(job.spec).hedge_at()
        assert hedge_at is not None
        bg.deps.clock = lambda: hedge_at
        run(bg, job.id)
        assert Counter(r["status"] for r in bg.results(job.id)) == {"succeeded": 20}
        split = bg.report(job.id)["execution"]
    assert (split["batch_requests"], split["hedge_requests"]) == (18, 2)
    assert split["hedge_provider"] == "openai-compatible"
    assert len(batchgraph_sandbox.sync_calls("local")) == 2
    assert batchgraph_sandbox.sync_calls("openai") == []
    shown = CliRunner().invoke(app, ["status", job.id, "--db", db], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    table = shown.output.split("Requests (")[0]
    assert "sync on" in table and "openai-compatible" in table  # the hedge chunk's row


def test_a_batch_that_cannot_be_cancelled_is_waited_for_then_its_late_results_ignored(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    refused = {"refuse_calls": r"^POST /v1/batches/[^/]+/cancel$", "refuse_count": 100}
    job_id, clock, deadline = hedge_begun(
        bg, batchgraph_sandbox, tmp_path, "openai", refuse_status=400, **refused
    )
    (chunk,) = bg.view(job_id).chunks
    assert chunk.status is ChunkStatus.SUBMITTED and chunk.counts["hedged"] == 3
    assert batchgraph_sandbox.sync_calls("openai") == []

    clock.now = deadline - 300
    run(bg, job_id)
    assert Counter(r["status"] for r in bg.results(job_id)) == {"succeeded": 20}
    assert len(batchgraph_sandbox.sync_calls("openai")) == 20
    split = bg.report(job_id)["execution"]
    assert (split["batch_requests"], split["hedge_requests"], split["batch_usd"]) == (0, 20, 0)
    # The batch runs on; what it reports now finds no request of its chunk.
    provider = bg.deps.provider(bg.view(job_id).job)
    assert chunk.batch_id is not None and provider.status(chunk.batch_id).state.value == "running"


def test_a_worker_wakes_for_the_hedge_and_sends_its_calls_without_pausing(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from batchgraph.runner.worker import WorkerPass, pause, serve
    from batchgraph.store.base import ChunkMode

    job_id, clock, deadline = straggling_job(bg, batchgraph_sandbox, tmp_path, "openai", 40)
    assert pause(bg, WorkerPass(), 3600.0) == pytest.approx(deadline - 600 - clock.now)
    source = tmp_path / "in.jsonl"
    syncing = bg.create(source, provider="sandbox-openai", execution=Execution(mode=ChunkMode.SYNC))
    assert pause(bg, WorkerPass(ticked=[syncing]), 3600.0) == 0.0  # its calls go on at once

    bg.cancel(syncing)
    clock.now = deadline - 600
    pauses: list[float] = []
    serve(bg, 3600.0, lambda _done: None, sleep=pauses.append, until_idle=True)
    assert bg.view(job_id).finished and set(pauses) <= {0.0}
    assert len(batchgraph_sandbox.sync_calls("openai")) == 4
