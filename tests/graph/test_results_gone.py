"""A batch whose results are no longer available (archived, deleted, 404) settles its requests
as failed with that reason and sends them again, instead of failing every tick."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from anthropic import Anthropic
from mistralai.client import Mistral
from openai import OpenAI

from batchgraph.api import Batchgraph
from batchgraph.errors import ProviderCallError
from batchgraph.io import ReadOptions
from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import JobStatus

from .conftest import MODELS, FakeClock, write_prompts

DAY = 24 * 3600.0
SIZE = 6


def delete_results(sandbox: SandboxHandle, provider: str, batch_id: str, clock: FakeClock) -> None:
    """Make the ended batch's results unreadable, as the provider would."""
    if provider == "anthropic":
        clock.now += 29 * DAY + 60  # archived
    elif provider == "openai":
        client = OpenAI(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url("openai"))
        output = client.batches.retrieve(batch_id).output_file_id
        assert output is not None
        client.files.delete(output)
    else:
        mistral = Mistral(api_key=SANDBOX_API_KEY, server_url=sandbox.base_url("mistral"))
        job = mistral.batch.jobs.get(job_id=batch_id)
        assert job.output_file is not None
        mistral.files.delete(file_id=job.output_file)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "mistral"])
def test_results_that_are_gone_fail_their_requests_with_the_reason_and_are_sent_again(
    provider: str, bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    clock = FakeClock(time.time())
    batchgraph_sandbox.ctx.now = clock
    batchgraph_sandbox.configure(processing_seconds=100.0, time_scale=1.0)
    source = write_prompts(tmp_path / "in.jsonl", SIZE)
    job_id = bg.submit(source, provider=provider, options=ReadOptions(model=MODELS[provider]))
    [first] = bg.view(job_id).chunks
    assert first.batch_id is not None
    clock.now += 200
    delete_results(batchgraph_sandbox, provider, first.batch_id, clock)

    for _ in range(6):
        with contextlib.suppress(ProviderCallError):
            bg.tick(job_id)
        clock.now += 200
        if bg.view(job_id).finished:
            break

    view = bg.view(job_id)
    assert view.job.status is JobStatus.DONE
    assert view.counts["succeeded"] == SIZE
    assert [c.attempt for c in view.chunks] == [1, 2], "sent again in a second round"
    assert view.chunks[0].batch_id == first.batch_id
    assert all(row.attempt == 2 for row in bg.ledger(job_id))


def test_an_instant_clock_never_archives_anthropic_results_before_they_are_read(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    clock = FakeClock(time.time())
    batchgraph_sandbox.ctx.now = clock
    batchgraph_sandbox.configure(processing_seconds=100.0, time_scale="instant")
    client = Anthropic(api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("anthropic"))
    params = {"model": MODELS["anthropic"], "max_tokens": 10,
              "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
    batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params}])
    clock.now += 1.0

    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.archived_at is None
    assert [r.custom_id for r in client.messages.batches.results(batch.id)] == ["a"]
