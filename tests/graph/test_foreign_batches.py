"""A job never adopts another job's batch and never takes another batch's answers as its own.

The reproduction: job B's batch is running when job A's create call fails with a server error;
A looks its tag up, and Anthropic (which shows a batch's tag only once it has ended) offers B's
batch of the same size as a candidate. Each job must end with the answers to its own prompts —
the sandbox's answers are derived from the request, so the test recomputes them — and each
chunk must have been created exactly once.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.errors import ProviderCallError
from batchgraph.io import ReadOptions
from batchgraph.jobs import create_job
from batchgraph.providers.anthropic_wire import split_custom_id
from batchgraph.providers.base import BatchTag
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.responder import answer
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import ChunkStatus, JobStatus

from .conftest import MODELS, PROVIDERS, FakeClock, sandbox_factory

SIZE = 12
PROCESSING = 30.0


def prompts(path: Path, who: str) -> Path:
    lines = [
        json.dumps({"id": f"{who}{n}", "prompt": f"Job {who} asks question {n}: what is {n}+{n}?"})
        for n in range(SIZE)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected_text(provider: str, prompt: str) -> str:
    """The sandbox's answer to a one-message prompt (OpenAI's protocol names the role in it)."""
    plain = provider in ("anthropic", "mistral", "gemini")  # the others speak OpenAI's protocol
    return answer(prompt if plain else f"user: {prompt}").text


CREATES = r"^POST \S*/(batches|messages/batches|batch/jobs|models/[^/]+:batchGenerateContent)$"
"""The call that creates a batch, on each provider."""


def created_tags(sandbox: SandboxHandle, provider: str) -> list[str]:
    """The tag of every batch the sandbox created for `provider`."""
    tags = []
    for creation in sandbox.creations(provider):
        if provider == "anthropic":
            tag, _ = split_custom_id(creation.custom_ids[0])
            tags.append(tag.label() if tag else "")
        else:
            metadata = creation.metadata or {}
            tags.append(metadata.get("batchgraph_tag") or metadata.get("display_name", ""))
    return tags


@contextlib.contextmanager
def stores(
    tmp_path: Path, sandbox: SandboxHandle, layout: str
) -> Iterator[tuple[Batchgraph, Batchgraph]]:
    factory = sandbox_factory(sandbox)
    with Batchgraph.open(
        str(tmp_path / "b.db"), data_dir=tmp_path / "home", provider_factory=factory
    ) as first:
        if layout == "one database":
            yield first, first
            return
        with Batchgraph.open(
            str(tmp_path / "a.db"), data_dir=tmp_path / "home", provider_factory=factory
        ) as second:
            yield first, second


@pytest.mark.parametrize("layout", ["one database", "two databases"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_job_whose_create_failed_gets_its_own_answers_and_one_batch(
    provider: str, layout: str, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    clock = FakeClock(time.time())
    batchgraph_sandbox.ctx.now = clock
    batchgraph_sandbox.configure(processing_seconds=PROCESSING, time_scale=1.0)
    options = ReadOptions(model=MODELS[provider])

    def later(_seconds: float) -> None:
        clock.now += PROCESSING  # every pause between ticks lets a batch finish

    with stores(tmp_path, batchgraph_sandbox, layout) as (bg_b, bg_a):
        job_b = bg_b.submit(
            prompts(tmp_path / "inB.jsonl", "B"), provider=provider, options=options
        )
        # The create call, and only it, is answered with a server error (an upload refused
        # leaves the chunk PLANNED: nothing reached the provider).
        batchgraph_sandbox.configure(refuse_calls=CREATES, refuse_count=1, refuse_status=500)
        job_a = create_job(
            bg_a.deps,
            input=prompts(tmp_path / "inA.jsonl", "A"),
            provider=provider,
            options=options,
        )
        with contextlib.suppress(ProviderCallError):
            bg_a.tick(job_a)  # the create call is answered with a server error
        assert [c.status for c in bg_a.view(job_a).chunks] == [ChunkStatus.SUBMITTING]

        bg_a.tick(job_a)  # looks its tag up while B's batch runs
        view_a = run_job(bg_a, job_a, Backoff(0.0, 1.0, 0.0), sleep=later)
        view_b = run_job(bg_b, job_b, Backoff(0.0, 1.0, 0.0), sleep=later)

        for bg, job, view, who in ((bg_a, job_a, view_a, "A"), (bg_b, job_b, view_b, "B")):
            assert view.job.status is JobStatus.DONE
            assert view.counts["succeeded"] == SIZE, who
            for row in bg.ledger(job):
                assert row.result is not None and row.result.text is not None
                prompt = row.request.messages[-1]["content"]
                assert prompt.startswith(f"Job {who} ")
                assert row.result.text == expected_text(provider, prompt), row.request.id
        batch_ids = {c.batch_id for v in (view_a, view_b) for c in v.chunks}
        assert len(batch_ids) == 2, "the two jobs share a batch"

    mine = {BatchTag(job_a, 0, 1).label(), BatchTag(job_b, 0, 1).label()}
    created = Counter(created_tags(batchgraph_sandbox, provider))
    assert created == dict.fromkeys(mine, 1), "each chunk is created exactly once"
    if provider == "anthropic":
        assert view_a.job.report is not None
        assert view_a.job.report["foreign_batches"] == 1, "B's batch was offered and refused"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_result_lines_of_another_batch_are_counted_and_never_written(
    provider: str, bg: Batchgraph, tmp_path: Path
) -> None:
    options = ReadOptions(model=MODELS[provider])
    job_b = bg.submit(prompts(tmp_path / "inB.jsonl", "B"), provider=provider, options=options)
    run_job(bg, job_b, Backoff(0.0, 1.0, 0.0))
    job_a = bg.submit(prompts(tmp_path / "inA.jsonl", "A"), provider=provider, options=options)
    [theirs] = [c.batch_id for c in bg.view(job_b).chunks]
    bg.store.update_chunk(job_a, 0, batch_id=theirs)  # a wrong batch id in A's chunk

    view = run_job(bg, job_a, Backoff(0.0, 1.0, 0.0))

    assert view.counts["succeeded"] == SIZE
    for row in bg.ledger(job_a):
        assert row.result is not None and row.result.batch_id != theirs
        prompt = row.request.messages[-1]["content"]
        assert row.result.text == expected_text(provider, prompt), row.request.id
    assert view.job.report is not None
    assert view.job.report["foreign_lines"] == SIZE


def test_cancelling_a_job_never_cancels_a_candidate_that_is_another_jobs(
    tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    clock = FakeClock(time.time())
    batchgraph_sandbox.ctx.now = clock
    batchgraph_sandbox.configure(processing_seconds=PROCESSING, time_scale=1.0)
    options = ReadOptions(model=MODELS["anthropic"])

    with stores(tmp_path, batchgraph_sandbox, "two databases") as (bg_b, bg_a):
        job_b = bg_b.submit(
            prompts(tmp_path / "inB.jsonl", "B"), provider="anthropic", options=options
        )
        batchgraph_sandbox.configure(server_error_rate=1.0)
        source = prompts(tmp_path / "inA.jsonl", "A")
        job_a = create_job(bg_a.deps, input=source, provider="anthropic", options=options)
        with contextlib.suppress(ProviderCallError):
            bg_a.tick(job_a)
        batchgraph_sandbox.configure(server_error_rate=0.0)
        bg_a.tick(job_a)
        [candidate] = bg_a.view(job_a).chunks
        assert candidate.provisional and candidate.batch_id == bg_b.view(job_b).chunks[0].batch_id

        bg_a.cancel(job_a)
        bg_a.tick(job_a)
        assert bg_a.view(job_a).chunks[0].status is ChunkStatus.SUBMITTED, "waits for it"
        clock.now += PROCESSING
        view_a = run_job(bg_a, job_a, Backoff(0.0, 1.0, 0.0))
        view_b = run_job(bg_b, job_b, Backoff(0.0, 1.0, 0.0))

    assert view_a.job.status is JobStatus.CANCELLED
    assert view_a.counts["cancelled"] == SIZE
    assert view_b.counts["succeeded"] == SIZE, "B's batch ran to its end"
