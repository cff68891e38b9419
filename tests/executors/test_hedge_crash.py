"""Kill `run` with SIGKILL at random moments while a deadline's hedge cancels batches, collects
what they finished and answers the rest synchronously: nothing is lost, every input ends with
exactly one result, no batch is created twice, and a synchronous request is sent again only
when it was in flight at a kill (at most `--concurrency` of them per kill)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.execution import Execution
from batchgraph.graph.nodes import HEDGE_KEY
from batchgraph.io import ReadOptions
from batchgraph.providers import sandbox_base_url
from batchgraph.providers.base import BatchTag
from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.server import SandboxHandle, run_sandbox
from batchgraph.store.base import ChunkStatus
from tests.graph.conftest import MODELS, write_prompts
from tests.patience import HANG_S

TRIALS = 12
REQUESTS = 600
STRAGGLERS = r"^\d*0$"
"""Requests whose number ends in 0 never finish in a batch: a tenth of them."""
HEDGED = REQUESTS // 10
CONCURRENCY = 2
MARGIN = 3595.0
"""The deadline is an hour away and the hedge begins five seconds after the job is created:
the first step (taken here, on a clock held still) creates the batches, and every `run` after
that finds the hedge due."""


def cli(env: dict[str, str], db: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "batchgraph", *args, "--db", db],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def created_job(db: str, source: Path, data_dir: Path) -> tuple[str, float]:
    """A job whose batches are created, its hedge time not come yet; returns it and when the
    hedge begins."""
    execution = Execution(
        deadline=time.time() + 3600.0, hedge_margin=MARGIN, concurrency=CONCURRENCY
    )
    with Batchgraph.open(db, data_dir=data_dir) as bg:
        job_id = bg.create(source, provider="openai", options=ReadOptions(model=MODELS["openai"]),
                           batch_size=100, execution=execution, new=True)  # fmt: skip
        stored = Execution.from_spec(bg.view(job_id).job.spec)
        held = stored.submitted_at
        bg.deps.clock = lambda: held or 0.0
        bg.tick(job_id)
        assert {c.status for c in bg.view(job_id).chunks} == {ChunkStatus.SUBMITTED}
    hedge_at = stored.hedge_at()
    assert hedge_at is not None
    return job_id, hedge_at


def hedge_under_way(db: str, data_dir: Path, job_id: str) -> bool:
    """The hedge has begun (a batch chunk is marked, or a synchronous chunk exists) and the
    job has not finished."""
    with Batchgraph.open(db, data_dir=data_dir) as bg:
        view = bg.view(job_id)
    begun = any(c.sync or c.counts.get(HEDGE_KEY) for c in view.chunks)
    return begun and not view.finished


def wait_for_hedge(db: str, data_dir: Path, job_id: str, runner: subprocess.Popen[str]) -> None:
    """Until the runner has begun the hedge (or has ended, or the job is finished)."""
    give_up = time.monotonic() + HANG_S
    while runner.poll() is None and time.monotonic() < give_up:
        with Batchgraph.open(db, data_dir=data_dir) as bg:
            view = bg.view(job_id)
        if view.finished or any(c.sync or c.counts.get(HEDGE_KEY) for c in view.chunks):
            return
        time.sleep(0.05)


def batch_tags(sandbox: SandboxHandle) -> list[str]:
    return [c.metadata["batchgraph_tag"] for c in sandbox.creations("openai") if c.metadata]


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_run_killed_at_random_moments_while_hedging_loses_nothing_and_pays_nothing_twice(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    db = str(tmp_path / "jobs.db")
    if backend == "postgres":
        db = request.getfixturevalue("postgres_location")
    config = SandboxConfig.instant(straggle_ids=STRAGGLERS, latency=0.1)
    with run_sandbox(tmp_path / "sandbox", config) as sandbox:
        monkeypatch.setenv("OPENAI_API_KEY", SANDBOX_API_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", sandbox_base_url("openai", sandbox.url))
        monkeypatch.delenv("BATCHGRAPH_DB", raising=False)
        env = dict(os.environ)
        source = write_prompts(tmp_path / "in.jsonl", REQUESTS)
        jobs = dict(created_job(db, source, tmp_path / "home") for _ in range(2))
        assert len(jobs) == 2
        time.sleep(max(0.0, max(jobs.values()) - time.time()))  # until the hedges are due

        rng = random.Random(20261130)
        kills = mid_hedge = 0
        for trial in range(TRIALS):
            job_id = list(jobs)[trial % len(jobs)]
            runner = cli(env, db, "run", "--job", job_id, "--poll-max", "0.2")
            wait_for_hedge(db, tmp_path / "home", job_id, runner)
            time.sleep(rng.uniform(0.0, 1.5))
            kills += runner.poll() is None
            runner.send_signal(signal.SIGKILL)
            runner.communicate()
            mid_hedge += hedge_under_way(db, tmp_path / "home", job_id)

        tags = batch_tags(sandbox)
        assert [tag for tag, n in Counter(tags).items() if n > 1] == [], "a batch created twice"
        for job_id in jobs:
            out = tmp_path / f"{job_id}.jsonl"
            done = cli(env, db, "run", "--job", job_id, "--poll-max", "0.2", "-o", str(out))
            stdout, stderr = done.communicate()
            assert done.returncode == 0, stderr
            assert "by hedge on openai" in " ".join(stdout.split())

            records = [json.loads(line) for line in out.read_text().splitlines()]
            assert [r["id"] for r in records] == [f"q{n}" for n in range(REQUESTS)]
            assert Counter(r["status"] for r in records) == {"succeeded": REQUESTS}
            by_sync = {r["id"] for r in records if r["batch_id"] == "sync"}
            assert by_sync == {f"q{n}" for n in range(0, REQUESTS, 10)}
            with Batchgraph.open(db, data_dir=tmp_path / "home") as bg:
                view = bg.view(job_id)
                report = bg.report(job_id)
            split = report["execution"]
            assert report["accounted"]
            assert (split["batch_requests"], split["hedge_requests"]) == (REQUESTS - HEDGED, HEDGED)
            assert split["batch_requests"] + split["sync_requests"] == REQUESTS
            mine = sorted(t for t in tags if t.startswith(f"bg{job_id}c"))
            assert mine == sorted(
                BatchTag(job_id, c.chunk, c.attempt).label() for c in view.chunks if not c.sync
            )
        answered = sum(call.status == 200 for call in sandbox.sync_calls("openai"))
        # Each straggler is answered once; a kill may cut short calls in flight, which are
        # sent again (paid twice at most `--concurrency` per kill).
        assert HEDGED * len(jobs) <= answered <= HEDGED * len(jobs) + kills * CONCURRENCY
        assert mid_hedge >= TRIALS // 2, "most kills should land while a hedge is under way"
