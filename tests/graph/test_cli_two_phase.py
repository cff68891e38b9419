"""The two-phase flow across separate processes, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore, read_creations
from tests.patience import HANG_S

from .conftest import MODELS, PROVIDERS, write_prompts


def cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`batchgraph ARGS` in a new process, with its data in `home`."""
    environment = {**os.environ, "BATCHGRAPH_HOME": str(home), "COLUMNS": "200", **(env or {})}
    environment.pop("BATCHGRAPH_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "batchgraph", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data folder whose embedded sandbox takes about 1.5 s of real time per batch."""
    home = tmp_path / "home"
    config = SandboxConfig(time_scale=2400.0, processing_seconds=3600.0)
    SandboxContext(SandboxStore(home / "sandbox"), config).save_config()
    return home


def test_submit_returns_a_job_id_and_later_processes_collect_and_write_results(
    home: Path, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 30)

    submitted = cli(home, "submit", str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.split()[0]

    for _ in range(40):
        collected = cli(home, "collect", job_id)
        assert collected.returncode == 0, collected.stderr
        if "done." in collected.stdout:
            break
        time.sleep(0.3)
    else:
        pytest.fail("the job did not finish")

    out = tmp_path / "out.jsonl"
    written = cli(home, "results", job_id, "-o", str(out))
    assert written.returncode == 0, written.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [f"q{n}" for n in range(30)]
    assert {r["status"] for r in records} == {"succeeded"}
    assert len(read_creations(home / "sandbox", "openai")) == 1


VERDICT = {
    "type": "object",
    "properties": {"even": {"type": "boolean"}, "why": {"type": "string"}},
    "required": ["even", "why"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_runs_a_schema_job_in_two_phases_with_retries(
    provider: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    config = SandboxConfig(time_scale=3600.0, processing_seconds=3600.0, failure_rate=0.2)
    SandboxContext(SandboxStore(home / "sandbox"), config).save_config()
    source = write_prompts(tmp_path / "in.jsonl", 20)
    schema = tmp_path / "verdict.schema.json"
    schema.write_text(json.dumps(VERDICT))

    submitted = cli(home, "submit", str(source), "-p", f"sandbox-{provider}",
                    "-m", MODELS[provider], "--json-schema", str(schema))  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.split()[0]
    out = tmp_path / "out.jsonl"
    finished = cli(home, "run", "--job", job_id, "--poll-max", "0.2", "-o", str(out))
    assert finished.returncode == 0, finished.stderr

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [f"q{n}" for n in range(20)]
    assert {r["status"] for r in records} == {"succeeded"}
    for record in records:
        jsonschema.validate(record["parsed"], VERDICT)
    assert len(read_creations(home / "sandbox")) > 1, "the failures were sent again"


def test_bad_lines_are_refused_by_number_before_anything_is_sent(
    home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(
        '{"id": "a", "prompt": "fine"}\n'
        '{"id": "b", "prompt": ""}\n'
        "{not json\n"
        '{"id": "a", "prompt": "again"}\n'
    )

    refused = cli(home, "submit", str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini")

    assert refused.returncode == 2
    assert "line 2" in refused.stderr and "line 3" in refused.stderr and "line 4" in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert read_creations(home / "sandbox") == []
    listed = cli(home, "list")
    assert "bad" not in listed.stdout


def test_api_key_never_reaches_the_database_or_the_output(
    tmp_path: Path, batchgraph_sandbox: object
) -> None:
    from batchgraph.sandbox.server import SandboxHandle

    assert isinstance(batchgraph_sandbox, SandboxHandle)
    home = tmp_path / "home"
    secret = "sk-test-" + "K3Y" * 10
    env = {"OPENAI_API_KEY": secret, "OPENAI_BASE_URL": batchgraph_sandbox.base_url("openai")}
    source = write_prompts(tmp_path / "in.jsonl", 5)

    ran = cli(home, "run", str(source), "-p", "openai", "-m", "gpt-4o-mini", "--poll-max", "0.2",
              "-o", str(tmp_path / "out.jsonl"), env=env)  # fmt: skip
    status = cli(home, "status", env=env)

    assert ran.returncode == 0, ran.stderr
    everything = ran.stdout + ran.stderr + status.stdout + status.stderr
    assert secret not in everything
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in (tmp_path / "out.jsonl").read_text()
