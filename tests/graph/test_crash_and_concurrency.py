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
from batchgraph.jobs import create_job
from batchgraph.providers.base import BatchTag
from batchgraph.providers.registry import SANDBOX_PREFIX
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import Creation, SandboxStore, read_creations
from batchgraph.store.base import ChunkStatus
from tests.patience import HANG_S

from .conftest import MODELS, PROVIDERS, write_prompts
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


def create_stored_job(home: Path, source: Path, batch_size: int, provider: str = "openai") -> str:
    """A validated job in the store, nothing sent yet (what `submit` does before its first tick)."""
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        return create_job(
            bg.deps,
            input=source,
            provider=SANDBOX_PREFIX + provider,
            options=ReadOptions(model=MODELS[provider]),
            batch_size=batch_size,
        )


def created_but_unsaved(home: Path, job_id: str) -> list[str]:
    """Tags of batches the provider created whose chunk has no batch id saved yet."""
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        unsaved = {
            BatchTag(job_id, c.chunk, c.attempt).label()
            for c in bg.view(job_id).chunks
            if c.status is ChunkStatus.SUBMITTING
        }
    return [tag for tag in tags_created(home) if tag in unsaved]


def tags_created(home: Path) -> list[str]:
    """The tag of every batch the sandbox was asked to create, whatever the provider: a
    metadata value, or the prefix of its custom ids where the wire has no metadata."""
    return [tag for c in read_creations(home / "sandbox") if (tag := tag_of(c)) is not None]


def tag_of(creation: Creation) -> str | None:
    found = [v for v in (creation.metadata or {}).values() if BatchTag.parse(str(v))]
    found += [
        i.split("-", 1)[0] for i in creation.custom_ids or [] if BatchTag.parse(i[: i.find("-")])
    ]
    return found[0] if found else None


def wait_for_creation(home: Path, job_id: str, timeout: float = HANG_S) -> bool:
    """Whether the provider was asked to create a batch of the job within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(tag.startswith(f"bg{job_id}c") for tag in tags_created(home)):
            return True
        time.sleep(0.02)
    return False


def kill_after(home: Path, seconds: float, *args: str) -> None:
    """Start `batchgraph ARGS` and SIGKILL it `seconds` later."""
    runner = start_cli(home, *args)
    time.sleep(seconds)
    runner.send_signal(signal.SIGKILL)
    runner.wait()


@pytest.mark.slow
@pytest.mark.parametrize("provider", PROVIDERS)
def test_runner_killed_at_random_moments_finishes_with_one_result_per_input(
    provider: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    source = write_prompts(tmp_path / "in.jsonl", 400)
    # Phase 1: answers are held back 1.5 s after the work is done. A runner is killed as soon
    # as the provider has been asked to create one of its batches: the batch exists, the
    # answer carrying its id has not come back, so its id is not saved. Each job is tried
    # once; another job is made if the moment was missed.
    home = sandbox_home(tmp_path, time_scale=3600.0, processing_seconds=3600.0,
                        reply_latency=1.5, failure_rate=0.05)  # fmt: skip
    jobs: list[str] = []
    created_unsaved = 0
    while not created_unsaved and len(jobs) < 5:
        jobs.append(create_stored_job(home, source, batch_size=100, provider=provider))
        runner = start_cli(home, "run", "--job", jobs[-1], "--poll-max", "0.2")
        wait_for_creation(home, jobs[-1])
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        created_unsaved += len(created_but_unsaved(home, jobs[-1]))
    # Phase 2: twenty kills at random moments of polling, collecting and retrying.
    sandbox_home(tmp_path, time_scale=3600.0, processing_seconds=3600.0, latency=0.02,
                 failure_rate=0.05)  # fmt: skip
    for _ in range(20):
        job_id = rng.choice(jobs)
        kill_after(home, rng.uniform(0.9, 2.5), "run", "--job", job_id, "--poll-max", "0.2")

    assert created_unsaved > 0, "no kill landed between a batch's creation and its saving"
    for job_id in jobs:
        out = tmp_path / f"{job_id}.jsonl"
        finished = cli(home, "run", "--job", job_id, "--poll-max", "0.2", "-o", str(out))
        assert finished.returncode == 0, finished.stderr
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["id"] for r in records] == [f"q{n}" for n in range(400)]
        with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
            view = bg.view(job_id)
        assert view.job.report is not None and view.job.report["accounted"] is True
        mine = [tag for tag in tags_created(home) if tag.startswith(f"bg{job_id}c")]
        assert len(mine) == len(set(mine)), Counter(mine).most_common(3)
        assert sorted(mine) == sorted(
            BatchTag(job_id, c.chunk, c.attempt).label() for c in view.chunks
        )


def test_two_processes_ticking_one_job_create_each_batch_once(tmp_path: Path) -> None:
    home = sandbox_home(tmp_path, time_scale=3600.0, processing_seconds=3600.0, latency=0.05)
    source = write_prompts(tmp_path / "in.jsonl", 120)
    job_id = create_stored_job(home, source, batch_size=20)

    for _ in range(3):
        racers = [start_cli(home, "collect", job_id) for _ in range(2)]
        for racer in racers:
            racer.wait(timeout=HANG_S)
        time.sleep(0.5)

    tags = tags_created(home)
    assert len(tags) == 6
    assert len(set(tags)) == 6
