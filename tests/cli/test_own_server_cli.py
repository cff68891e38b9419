"""`--provider openai-compatible --base-url URL [--api-key-env NAME]` as a user types it, against
the sandbox's local-server personality over HTTP; and the flags refused where they do not
belong, before anything is stored."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from batchgraph.api import Batchgraph
from batchgraph.cli import app
from batchgraph.sandbox.server import SandboxHandle
from tests.graph.conftest import write_prompts

runner = CliRunner()
MODEL = "llama3.1:8b"


def job_ids() -> list[str]:
    with Batchgraph.open() as bg:
        return [job.id for job in bg.jobs()]


def only_job() -> str:
    (job_id,) = job_ids()
    return job_id


def on_own_server(command: str, source: Path, sandbox: SandboxHandle) -> list[str]:
    """`batchgraph COMMAND SOURCE` on the sandbox's local server, as a user types it."""
    url = sandbox.base_url("local")
    return [command, str(source), "-p", "openai-compatible", "--base-url", url, "-m", MODEL]


def test_run_on_an_own_server_resumes_by_job_and_costs_nothing(
    home: Path, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 12)
    submitted = runner.invoke(app, on_own_server("submit", source, batchgraph_sandbox))
    assert submitted.exit_code == 0, submitted.output
    job_id = only_job()

    out = tmp_path / "out.jsonl"
    ran = runner.invoke(app, ["run", "--job", job_id, "-o", str(out), "--poll-max", "0.1"])
    cost = runner.invoke(app, ["cost", job_id])

    assert ran.exit_code == 0, ran.output
    assert "every request accounted for" in ran.output
    assert "$0: no charge: your own OpenAI-compatible server" in ran.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [f"q{n}" for n in range(12)]
    assert {r["status"] for r in records} == {"succeeded"}
    assert cost.exit_code == 0, cost.output
    assert "$0.0000" in cost.output and "no charge: your own" in cost.output


def test_a_server_refusing_schemas_stops_run_with_one_message_naming_the_fix(
    home: Path, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    batchgraph_sandbox.configure(local_json_schema="vllm")
    source = write_prompts(tmp_path / "in.jsonl", 25)
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object", "properties": {"even": {"type": "boolean"}}}')
    args = on_own_server("run", source, batchgraph_sandbox)

    ran = runner.invoke(app, [*args, "--json-schema", str(schema), "--poll-max", "0.1"])

    assert ran.exit_code == 2
    job_id = only_job()
    assert "cannot follow a JSON schema" in ran.output and "--json-schema" in ran.output
    assert f"batchgraph run --job {job_id}" in ran.output
    assert len(batchgraph_sandbox.sync_calls("local")) == 1


def test_the_sandbox_stands_in_for_an_own_server(home: Path, tmp_path: Path) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 4)

    ran = runner.invoke(app, ["run", str(source), "-p", "sandbox-openai-compatible",
                              "-m", MODEL, "--poll-max", "0.1"])  # fmt: skip

    assert ran.exit_code == 0, ran.output
    assert "every request accounted for" in ran.output


def test_a_missing_base_url_is_refused_naming_the_flag(home: Path, tmp_path: Path) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 2)

    result = runner.invoke(app, ["submit", str(source), "-p", "openai-compatible", "-m", MODEL])
    no_scheme = runner.invoke(app, ["submit", str(source), "-p", "openai-compatible", "-m", MODEL,
                                    "--base-url", "localhost:8000/v1"])  # fmt: skip

    assert result.exit_code == 2
    assert "add --base-url URL" in result.output
    assert no_scheme.exit_code == 2 and "with http:// or https://" in no_scheme.output
    assert not (home / "batchgraph.db").exists()


def test_address_flags_are_refused_for_providers_that_do_not_take_them(
    home: Path, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 2)

    other = runner.invoke(app, ["submit", str(source), "-p", "openai", "-m", "gpt-4o-mini",
                                "--base-url", "http://localhost:8000/v1"])  # fmt: skip
    sandbox = runner.invoke(app, ["submit", str(source), "-p", "sandbox-openai-compatible",
                                  "-m", MODEL, "--api-key-env", "MY_KEY"])  # fmt: skip
    resumed = runner.invoke(app, ["run", "--job", "abc", "--base-url", "http://x/v1"])

    assert other.exit_code == 2
    assert "--base-url belong to --provider openai-compatible" in other.output
    assert "OPENAI_BASE_URL" in other.output and "drop --base-url" in other.output
    assert sandbox.exit_code == 2 and "the sandbox serves" in sandbox.output
    assert "drop --api-key-env" in sandbox.output
    assert resumed.exit_code == 2 and "reaches the server it was submitted to" in resumed.output
    assert not (home / "batchgraph.db").exists()


def test_an_estimate_sample_is_answered_by_the_own_server_and_priced_at_nothing(
    home: Path, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 20)
    args = on_own_server("submit", source, batchgraph_sandbox)

    result = runner.invoke(app, [*args, "--dry-run", "--estimate-sample", "3"])

    assert result.exit_code == 0, result.output
    assert "nothing was sent" in result.output and "$0.0000" in result.output
    assert [c.status for c in batchgraph_sandbox.sync_calls("local")] == [200] * 3
    assert not (home / "batchgraph.db").exists() or job_ids() == []
