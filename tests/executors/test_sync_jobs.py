"""Jobs run synchronously (`--mode sync`) against the sandbox's synchronous endpoints, through
the official SDKs' async clients: the same ledger, results and report as batch jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.execution import Execution
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import ChunkMode
from tests.graph.conftest import MODELS, write_prompts

SYNC = Execution(mode=ChunkMode.SYNC, concurrency=8)
SYNC_PROVIDERS = ["openai", "anthropic", "mistral", "groq", "together"]
"""Hosts with a Batch API whose synchronous API the sandbox serves (Azure's deployment paths
are not served by the sandbox's synchronous routes)."""


def run(bg: Batchgraph, job_id: str) -> None:
    run_job(bg, job_id, Backoff(initial=0.01, cap=0.05), sleep=lambda _s: None)


@pytest.mark.parametrize("provider", SYNC_PROVIDERS)
def test_sync_job_gives_the_batch_jobs_answers_at_sync_price(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path, provider: str
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 30, MODELS[provider])
    by_batch = bg.submit(source, provider=f"sandbox-{provider}", new=True)
    run(bg, by_batch)
    # Without the result cache: the same requests are sent again, by synchronous calls.
    by_sync = bg.submit(
        source, provider=f"sandbox-{provider}", new=True, execution=SYNC, cache=False
    )
    run(bg, by_sync)

    batch_rows = list(bg.store.result_records(by_batch))
    sync_rows = list(bg.store.result_records(by_sync))
    assert [r["id"] for r in sync_rows] == [f"q{n}" for n in range(30)]
    assert [r["text"] for r in sync_rows] == [r["text"] for r in batch_rows]
    assert {r["status"] for r in sync_rows} == {"succeeded"}
    assert {r["batch_id"] for r in sync_rows} == {"sync"}
    assert len(batchgraph_sandbox.sync_calls(provider)) == 30
    report = bg.view(by_sync).job.report
    assert report is not None and report["accounted"]
    assert report["execution"]["sync_requests"] == 30
    assert report["execution"]["batch_requests"] == 0
    assert report["batches"] == 0
    assert report["paid_usd"] == pytest.approx(report["sync_usd"])
    assert report["saving_usd"] == pytest.approx(0.0)


def test_steps_stop_after_their_slice_and_never_send_a_request_twice(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    batchgraph_sandbox.configure(latency=0.1)
    bg.deps.sync_slice_seconds = 0.5
    source = write_prompts(tmp_path / "in.jsonl", 120, MODELS["openai"])
    job_id = bg.submit(source, provider="sandbox-openai", execution=SYNC)
    steps = 1
    while not bg.view(job_id).finished:
        bg.tick(job_id)
        steps += 1
    assert steps > 2, "the job took several steps"
    assert len(batchgraph_sandbox.sync_calls("openai")) == 120
    assert bg.view(job_id).counts["succeeded"] == 120


def test_rate_limits_and_server_errors_are_ridden_out(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    batchgraph_sandbox.configure(
        rate_limit_every=4, rate_limit_retry_after=0.01, server_error_rate=0.2
    )
    source = write_prompts(tmp_path / "in.jsonl", 60, MODELS["openai"])
    job_id = bg.submit(source, provider="sandbox-openai", execution=SYNC)
    run(bg, job_id)
    calls = batchgraph_sandbox.sync_calls("openai")
    statuses = {c.status for c in calls}
    assert 429 in statuses and 500 in statuses
    assert sum(c.status == 200 for c in calls) == 60
    assert bg.view(job_id).counts["succeeded"] == 60


def test_embeddings_run_synchronously(
    bg: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from batchgraph.io import ReadOptions
    from batchgraph.model import Kind

    source = tmp_path / "in.jsonl"
    source.write_text("".join(f'{{"id": "e{n}", "input": "text {n}"}}\n' for n in range(5)))
    options = ReadOptions(model="mistral-embed", kind=Kind.EMBEDDING)
    job_id = bg.submit(source, provider="sandbox-mistral", options=options, execution=SYNC)
    run(bg, job_id)
    rows = list(bg.store.result_records(job_id))
    assert [r["status"] for r in rows] == ["succeeded"] * 5
    assert len({len(r["embedding"]) for r in rows}) == 1 and rows[0]["embedding"]
