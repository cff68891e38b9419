"""Errors a later try can fix are waited out; errors it cannot fix stop the job at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.errors import ProviderCallError, ProviderUnavailable
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle

from .conftest import MODELS, PROVIDERS, write_prompts

NO_WAIT = Backoff(initial=0.0, cap=0.0)

CREATES = (
    r"^POST /((openai/)?(v1/)?(batches|messages/batches|batch/jobs)"
    r"|v1beta/models/[^/]+:batchGenerateContent)$"
)
"""The call that creates a batch, on each provider."""


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_refusing_creates_for_a_while_is_waited_out(
    provider: str, status: int, bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    # Creates are never retried inside a tick, so every tick fails (after one or more of its
    # chunks was refused) until the refusals run out: far more failed ticks in a row than a
    # fixed number of tries (eight, once) survives.
    batchgraph_sandbox.configure(refuse_calls=CREATES, refuse_count=40, refuse_status=status)
    source = write_prompts(tmp_path / "in.jsonl", 30)
    job_id = bg.create(
        source, provider=provider, options=ReadOptions(model=MODELS[provider]), batch_size=10
    )
    pauses: list[float] = []
    told: list[ProviderUnavailable] = []

    view = run_job(bg, job_id, NO_WAIT, sleep=pauses.append, on_unavailable=told.append)

    assert view.counts["succeeded"] == 30
    assert len(batchgraph_sandbox.creations(provider)) == len(view.chunks) == 3
    assert len(told) > 8 and all(f"HTTP {status}" in str(error) for error in told)
    assert len(pauses) >= len(told)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_create_stops_the_run_at_once_with_the_providers_message(
    provider: str, bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(refuse_calls=CREATES, refuse_count=100, refuse_status=400)
    source = write_prompts(tmp_path / "in.jsonl", 5)
    job_id = bg.create(source, provider=provider, options=ReadOptions(model=MODELS[provider]))
    pauses: list[float] = []

    with pytest.raises(ProviderCallError) as raised:
        run_job(bg, job_id, NO_WAIT, sleep=pauses.append)

    assert not isinstance(raised.value, ProviderUnavailable)
    assert "HTTP 400" in str(raised.value) and "Refused by the sandbox" in str(raised.value)
    assert pauses == []  # not tried again
    assert batchgraph_sandbox.creations(provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_job_finishes_under_a_low_rate_limit_and_one_call_in_five_failing(
    provider: str, bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(
        rate_limit_every=3, rate_limit_retry_after=0.01, server_error_rate=0.2, seed=provider
    )
    source = write_prompts(tmp_path / "in.jsonl", 300)
    job_id = bg.create(
        source, provider=provider, options=ReadOptions(model=MODELS[provider]), batch_size=25
    )
    told: list[ProviderUnavailable] = []

    view = run_job(bg, job_id, NO_WAIT, sleep=lambda _: None, on_unavailable=told.append)

    assert view.counts["succeeded"] == 300
    assert len(batchgraph_sandbox.creations(provider)) == len(view.chunks) == 12
    assert told  # the faults did reach the job, and were waited out
