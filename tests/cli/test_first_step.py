"""The first step of `submit` and `run FILE` behaves like every later step: a rate limit or a
server error on the first upload or create is waited out, and once the job is stored every way
out of the command names it and the command that resumes it — so no one submits it twice."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.storage import read_creations
from batchgraph.store.base import ChunkStatus

from ..graph.conftest import MODELS, PROVIDERS, write_prompts
from .processes import UPLOADS_AND_CREATES, batchgraph, sandbox_home, start, stored_jobs


def refusing(tmp_path: Path, count: int, status: int) -> Path:
    """A home whose sandbox refuses the first `count` uploads and creates with `status`."""
    config = SandboxConfig.instant(
        refuse_calls=UPLOADS_AND_CREATES, refuse_count=count, refuse_status=status
    )
    return sandbox_home(tmp_path / "home", config)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_submit_waits_out_a_rate_limit_on_its_first_step_and_stores_one_job(
    provider: str, tmp_path: Path
) -> None:
    home = refusing(tmp_path, count=10, status=429)
    source = write_prompts(tmp_path / "in.jsonl", 20)

    options = ("-p", f"sandbox-{provider}", "-m", MODELS[provider], "--batch-size", "10")

    submitted = batchgraph(home, "submit", str(source), *options, "--poll-max", "0.1")

    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.split()[0]
    assert "HTTP 429" in submitted.stderr and "trying again" in submitted.stderr
    assert [job.id for job in stored_jobs(home)] == [job_id]
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        chunks = bg.view(job_id).chunks
    assert [c.status for c in chunks] == [ChunkStatus.SUBMITTED] * 2
    assert len(read_creations(home / "sandbox", provider)) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_run_waits_out_server_errors_on_its_first_step_and_finishes_one_job(
    provider: str, tmp_path: Path
) -> None:
    home = refusing(tmp_path, count=10, status=503)
    source = write_prompts(tmp_path / "in.jsonl", 20)
    out = tmp_path / "out.jsonl"

    options = ("-p", f"sandbox-{provider}", "-m", MODELS[provider], "--batch-size", "10")

    ran = batchgraph(home, "run", str(source), *options, "--poll-max", "0.1", "-o", str(out))

    assert ran.returncode == 0, ran.stderr
    assert "HTTP 503" in ran.stderr
    assert "every request accounted for" in ran.stdout
    assert len(out.read_text().splitlines()) == 20
    assert len(stored_jobs(home)) == 1
    assert len(read_creations(home / "sandbox", provider)) == 2


@pytest.mark.parametrize(
    ("command", "stop", "code"),
    [("submit", signal.SIGINT, 130), ("run", signal.SIGTERM, 143)],
)
def test_stopping_the_first_step_names_the_job_and_the_command_that_resumes_it(
    command: str, stop: signal.Signals, code: int, tmp_path: Path
) -> None:
    home = refusing(tmp_path, count=10_000, status=429)  # the limit outlasts the command
    source = write_prompts(tmp_path / "in.jsonl", 5)
    process = start(home, command, str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
                    "--poll-max", "0.1")  # fmt: skip
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # the job is stored and its first step is waiting
        seen.append(line)
        if "trying again" in line:
            break
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=300)

    assert process.returncode == code, "".join(seen) + stderr
    (job,) = stored_jobs(home)
    assert f"job {job.id} is safe" in stderr
    assert f"batchgraph run --job {job.id}" in stderr
    resumed = batchgraph(sandbox_home(home, SandboxConfig.instant()), "run", "--job", job.id,
                         "--poll-max", "0.1")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "every request accounted for" in resumed.stdout
    assert len(stored_jobs(home)) == 1
    assert len(read_creations(home / "sandbox", "openai")) == 1
