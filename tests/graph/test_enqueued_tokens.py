"""OpenAI's enqueued-token limit: a batch refused for it is sent again once earlier batches
end, without counting as an attempt, and `max_enqueued_tokens` keeps a job under a known quota.

Each prompt below is 6 tokens to the sandbox and to our estimate; a chunk of 10 is 60, and the
sandbox's limit of 130 lets two chunks run at once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from batchgraph.api import Batchgraph
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import ChunkStatus

from .conftest import FakeClock, write_prompts

NO_WAIT = Backoff(initial=0.0, cap=0.0)
LIMIT = 130


PAUSE = 40.0
"""Virtual seconds each pause between ticks lets pass: a batch takes 100."""


def limited_sandbox(sandbox: SandboxHandle) -> Callable[[float], None]:
    """Limit the sandbox's enqueued tokens; return the pause that moves its clock."""
    clock = FakeClock(time.time())
    sandbox.ctx.now = clock
    sandbox.configure(processing_seconds=100.0, time_scale=1.0, enqueued_token_limit=LIMIT)

    def pause(_seconds: float) -> None:
        clock.now += PAUSE

    return pause


def test_a_batch_refused_for_the_token_limit_is_sent_again_when_earlier_ones_end(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    pause = limited_sandbox(batchgraph_sandbox)
    source = write_prompts(tmp_path / "in.jsonl", 50)
    job_id = bg.create(
        source, provider="openai", options=ReadOptions(model="gpt-4o-mini"), batch_size=10
    )

    view = run_job(bg, job_id, NO_WAIT, sleep=pause)

    assert view.counts["succeeded"] == 50
    assert [c.attempt for c in view.chunks] == [1] * 5  # no retry round was needed
    assert all(row.attempt == 1 for row in bg.ledger(job_id))  # refusals are not attempts
    assert all(c.status is ChunkStatus.COLLECTED for c in view.chunks)
    creations = Counter(
        c.metadata["batchgraph_tag"] for c in batchgraph_sandbox.creations("openai") if c.metadata
    )
    assert len(creations) == 5 and max(creations.values()) > 1  # refused ones were created again


def test_max_enqueued_tokens_keeps_a_job_under_the_limit(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    pause = limited_sandbox(batchgraph_sandbox)
    source = write_prompts(tmp_path / "in.jsonl", 50)
    job_id = bg.create(
        source,
        provider="openai",
        options=ReadOptions(model="gpt-4o-mini"),
        batch_size=10,
        max_enqueued_tokens=LIMIT,
    )

    view = run_job(bg, job_id, NO_WAIT, sleep=pause)

    assert view.counts["succeeded"] == 50
    assert len(batchgraph_sandbox.creations("openai")) == 5  # none was refused
