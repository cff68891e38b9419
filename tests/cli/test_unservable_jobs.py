"""A job no tick could send is never stored; a stored job that cannot be served is skipped by
the worker, never stops it; and a job that sent nothing is cancelled without a key."""

from __future__ import annotations

import socket
from pathlib import Path

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.server import SandboxHandle

from ..graph.conftest import write_prompts
from .processes import UPLOADS_AND_CREATES, batchgraph, sandbox_home, stored_jobs

SUBMIT_OPENAI = ("-p", "openai", "-m", "gpt-4o-mini", "--poll-max", "0.1")


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_submit_without_a_key_stores_no_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    source = write_prompts(tmp_path / "in.jsonl", 3)

    submitted = batchgraph(home, "submit", str(source), *SUBMIT_OPENAI)

    assert submitted.returncode == 2
    assert "no API key for openai" in submitted.stderr
    assert stored_jobs(home) == []


def test_submit_to_a_host_out_of_reach_stores_no_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    source = write_prompts(tmp_path / "in.jsonl", 3)
    env = {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1",
    }

    submitted = batchgraph(home, "submit", str(source), *SUBMIT_OPENAI, env=env)

    assert submitted.returncode == 2
    assert "could not reach OpenAI" in submitted.stderr
    assert stored_jobs(home) == []


def test_the_worker_skips_a_job_it_has_no_key_for_and_serves_the_others(
    tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    home = sandbox_home(tmp_path / "home", SandboxConfig.instant())
    source = write_prompts(tmp_path / "in.jsonl", 4)
    url = {"OPENAI_BASE_URL": batchgraph_sandbox.base_url("openai")}
    keyed = batchgraph(home, "submit", str(source), *SUBMIT_OPENAI,
                       env={**url, "OPENAI_API_KEY": "sk-test"})  # fmt: skip
    offline = batchgraph(home, "submit", str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini")
    assert keyed.returncode == offline.returncode == 0, keyed.stderr + offline.stderr
    keyed_job, offline_job = keyed.stdout.split()[0], offline.stdout.split()[0]

    served = batchgraph(home, "worker", "--until-idle", "--interval", "0.1", env=url)

    assert served.returncode == 2
    assert f"finished {offline_job}" in served.stdout
    assert f"skipped {keyed_job}: no API key for openai" in served.stdout
    reports = {job.id: job.report for job in stored_jobs(home)}
    assert reports[offline_job] is not None and reports[keyed_job] is None
    assert f"1 could not be served ({keyed_job})" in served.stderr


def test_a_job_that_sent_nothing_is_cancelled_without_a_key(
    tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    home = tmp_path / "home"
    source = write_prompts(tmp_path / "in.jsonl", 3)
    batchgraph_sandbox.configure(
        refuse_calls=UPLOADS_AND_CREATES, refuse_count=100, refuse_status=400
    )
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": batchgraph_sandbox.base_url("openai")}
    submitted = batchgraph(home, "submit", str(source), *SUBMIT_OPENAI, env=env)
    (job,) = stored_jobs(home)
    assert submitted.returncode == 2
    assert "HTTP 400" in submitted.stderr
    assert f"job {job.id} is stored" in submitted.stderr
    assert f"batchgraph run --job {job.id}" in submitted.stderr

    cancelled = batchgraph(home, "cancel", job.id)

    assert cancelled.returncode == 0, cancelled.stderr
    finished = batchgraph(home, "run", "--job", job.id, "--poll-max", "0.1")
    assert finished.returncode == 0, finished.stderr
    (job,) = stored_jobs(home)
    assert job.report is not None and job.report["counts"]["cancelled"] == 3
    assert batchgraph_sandbox.creations("openai") == []
