"""A user's graph with the batch subgraph, killed at random moments and resumed: every batch is
created once, every topic answered once."""

from __future__ import annotations

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
from batchgraph.providers.base import BatchTag
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore, read_creations

from ..graph.conftest import MODELS

REPO = Path(__file__).resolve().parents[2]
TOPICS = 120
KILLS = 10
FINISHING_RUNS = 200
"""Unkilled runs allowed to finish the job afterwards (each is one tick; a bound, not a timer)."""


def drive(home: Path, checkpoints: Path, provider: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BATCHGRAPH_HOME": str(home),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}  # fmt: skip
    env.pop("BATCHGRAPH_DB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.langgraph.drive_topics", str(checkpoints),
         f"sandbox-{provider}", MODELS[provider], str(TOPICS)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def tags_created(home: Path, provider: str) -> list[str]:
    """The tag of every batch the sandbox was asked to create: in its metadata, or (Anthropic)
    at the head of its custom ids."""
    return [
        c.metadata["batchgraph_tag"] if c.metadata else (c.custom_ids or ["?"])[0].split("-")[0]
        for c in read_creations(home / "sandbox", provider)
    ]


def stage(home: Path) -> tuple[int, int]:
    """How far the job got: batches created, requests with their final result."""
    created = len(read_creations(home / "sandbox"))
    if not (home / "batchgraph.db").exists():
        return created, 0
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        jobs = bg.jobs()
        counts = bg.view(jobs[0].id).counts if jobs else {}
    return created, sum(n for s, n in counts.items() if s not in ("queued", "pending"))


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["openai", "anthropic", "mistral"])
def test_user_graph_killed_and_resumed_at_random_moments_creates_each_batch_once(
    provider: str, tmp_path: Path
) -> None:
    rng = random.Random(13)
    home = tmp_path / "home"
    checkpoints = tmp_path / "user-graph.sqlite"
    # Batches take about a second and every call waits 20 ms; a run is killed 0–0.2 s after it
    # first shows progress, so kills land while it creates, checks and collects batches,
    # however slow the machine.
    config = SandboxConfig(time_scale=3600.0, processing_seconds=3600.0, latency=0.02,
                           failure_rate=0.05)  # fmt: skip
    SandboxContext(SandboxStore(home / "sandbox"), config).save_config()

    stages = []
    for _ in range(KILLS):
        runner = drive(home, checkpoints, provider)
        assert runner.stdout is not None
        runner.stdout.readline()  # "ready" (or "" when it ended)
        before = stage(home)
        while runner.poll() is None and stage(home) == before:
            time.sleep(0.05)  # until the run has done something: a batch created, results written
        time.sleep(rng.uniform(0.0, 0.2))
        runner.send_signal(signal.SIGKILL)
        runner.communicate()
        stages.append(stage(home))
    for _ in range(FINISHING_RUNS):
        out, err = drive(home, checkpoints, provider).communicate()
        assert "Traceback" not in err, err
        if "done" in out:
            break
        time.sleep(0.2)

    assert len(set(stages)) >= KILLS // 2, stages  # the kills fell at many points of the job
    assert out.split()[-2:] == ["done", str(TOPICS)], (out, err)
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        (job,) = bg.jobs()
        chunks = bg.view(job.id).chunks
    tags = tags_created(home, provider)
    assert len(tags) == len(set(tags)), Counter(tags).most_common(3)
    assert sorted(tags) == sorted(BatchTag(job.id, c.chunk, c.attempt).label() for c in chunks)
