"""Kill the runner at random moments; tick a job from two processes: nothing twice or lost."""

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
from batchgraph.io import ReadOptions
from batchgraph.providers.base import BatchTag
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore, read_creations
from batchgraph.store.base import ChunkStatus

from .conftest import write_prompts
from .test_cli_two_phase import cli


def start_cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BATCHGRAPH_HOME": str(home)}
    env.pop("BATCHGRAPH_DB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "batchgraph", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def sandbox_home(tmp_path: Path, **config: float) -> Path:
    home = tmp_path / "home"
    SandboxContext(SandboxStore(home / "sandbox"), SandboxConfig(**config)).save_config()
    return home


def tags_created(home: Path) -> list[str]:
    """The tag of every batch the sandbox was asked to create (OpenAI keeps it in metadata)."""
    return [c.metadata["batchgraph_tag"] for c in read_creations(home / "sandbox", "openai")]


@pytest.mark.slow
def test_runner_killed_at_random_moments_finishes_with_one_result_per_input(
    tmp_path: Path,
) -> None:
    # Batches take ~1 s; every API call is slowed so kills land inside provider calls too.
    home = sandbox_home(
        tmp_path, time_scale=3600.0, processing_seconds=3600.0, latency=0.05, failure_rate=0.05
    )
    source = write_prompts(tmp_path / "in.jsonl", 400)
    rng = random.Random(7)
    first = start_cli(home, "run", str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
                      "--batch-size", "40", "--poll-max", "0.2")  # fmt: skip
    time.sleep(rng.uniform(0.8, 1.5))
    first.send_signal(signal.SIGKILL)
    first.wait()
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        (job,) = bg.jobs()
    states_seen: Counter[str] = Counter()

    for _ in range(24):
        runner = start_cli(home, "run", "--job", job.id, "--poll-max", "0.2")
        time.sleep(rng.uniform(0.3, 2.0))
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
            states_seen.update(c.status.value for c in bg.view(job.id).chunks)

    finished = cli(
        home, "run", "--job", job.id, "--poll-max", "0.2", "-o", str(tmp_path / "out.jsonl")
    )

    assert finished.returncode == 0, finished.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [f"q{n}" for n in range(400)]
    tags = tags_created(home)
    assert len(tags) == len(set(tags)), Counter(tags).most_common(3)
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        view = bg.view(job.id)
        assert view.job.report is not None and view.job.report["accounted"] is True
        assert sorted(tags) == sorted(
            BatchTag(job.id, c.chunk, c.attempt).label() for c in view.chunks
        )
    assert states_seen[ChunkStatus.SUBMITTED.value] > 0


def test_two_processes_ticking_one_job_create_each_batch_once(tmp_path: Path) -> None:
    home = sandbox_home(tmp_path, time_scale=3600.0, processing_seconds=3600.0, latency=0.05)
    source = write_prompts(tmp_path / "in.jsonl", 120)
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        from batchgraph.jobs import create_job

        job_id = create_job(
            bg.deps, input=source, provider="sandbox-openai",
            options=ReadOptions(model="gpt-4o-mini"), batch_size=20,
        )  # fmt: skip

    for _ in range(3):
        racers = [start_cli(home, "collect", job_id) for _ in range(2)]
        for racer in racers:
            racer.wait(timeout=120)
        time.sleep(0.5)

    tags = tags_created(home)
    assert len(tags) == 6
    assert len(set(tags)) == 6
