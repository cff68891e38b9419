"""What the commands print for scripts and for mistakes: one message per mistake, JSON on
request, results on standard output, and reading a store that is not there creates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchgraph.cli import app

runner = CliRunner()


def prompts(path: Path, count: int) -> Path:
    path.write_text("".join(f'{{"id": "q{n}", "prompt": "Is {n} even?"}}\n' for n in range(count)))
    return path


def test_a_missing_model_on_a_big_file_is_one_message(home: Path, tmp_path: Path) -> None:
    source = prompts(tmp_path / "in.jsonl", 500)
    result = runner.invoke(app, ["submit", str(source), "-p", "sandbox-openai"])

    assert result.exit_code == 2
    assert result.output.count("no model") == 1
    assert "all 500 lines: no model — pass --model" in result.output
    assert "more bad lines" not in result.output


def test_embeddings_on_a_provider_without_them_is_one_message(home: Path, tmp_path: Path) -> None:
    source = prompts(tmp_path / "in.jsonl", 500)
    result = runner.invoke(app, ["submit", str(source), "-p", "sandbox-anthropic",
                                 "-m", "claude-haiku-4-5", "--embeddings"])  # fmt: skip

    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "--embeddings: Anthropic batches do not take embedding requests" in result.output
    assert "line 1" not in result.output


def test_embeddings_over_plain_prompts_embed_the_prompts(home: Path, tmp_path: Path) -> None:
    source = prompts(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["run", str(source), "-p", "sandbox-openai",
                                 "-m", "text-embedding-3-small", "--embeddings",
                                 "-o", str(out), "--poll-max", "0.1"])  # fmt: skip

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in records] == ["succeeded"] * 3
    assert all(isinstance(r["embedding"], list) and r["embedding"] for r in records)


@pytest.fixture
def finished_job(home: Path, tmp_path: Path) -> str:
    source = prompts(tmp_path / "in.jsonl", 3)
    ran = runner.invoke(app, ["run", str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
                              "--name", "evens", "--poll-max", "0.1"])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    return str(listed[0]["id"])


def test_results_dash_writes_jsonl_to_stdout_alone(finished_job: str) -> None:
    result = runner.invoke(app, ["results", finished_job, "-o", "-"])

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["q0", "q1", "q2"]
    assert {r["status"] for r in records} == {"succeeded"}


def test_run_refuses_dash_which_would_mix_progress_and_results(home: Path, tmp_path: Path) -> None:
    source = prompts(tmp_path / "in.jsonl", 1)
    result = runner.invoke(app, ["run", str(source), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
                                 "-o", "-"])  # fmt: skip

    assert result.exit_code == 2
    assert "batchgraph results JOB -o -" in result.output
    assert not (home / "batchgraph.db").exists()


def test_status_and_list_print_json(finished_job: str) -> None:
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    everything = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    one = json.loads(runner.invoke(app, ["status", finished_job, "--json"]).stdout)

    assert [(j["id"], j["name"], j["status"], j["total"]) for j in listed] == [
        (finished_job, "evens", "done", 3)
    ]
    assert everything == listed
    assert one["job"]["id"] == finished_job
    assert one["counts"]["succeeded"] == 3
    assert [c["status"] for c in one["chunks"]] == ["collected"]
    assert one["report"]["accounted"] is True


def test_a_job_not_found_names_the_database_searched(home: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["submit", str(prompts(tmp_path / "in.jsonl", 1)), "-p",
                        "sandbox-openai", "-m", "gpt-4o-mini"])  # fmt: skip
    result = runner.invoke(app, ["status", "nope"])

    assert result.exit_code == 2
    assert f"no job 'nope' in {home / 'batchgraph.db'}" in result.output
    assert "--db" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["list"],
        ["status", "--json"],
        ["status", "abc"],
        ["cost", "abc"],
        ["results", "abc", "-o", "out.jsonl"],
    ],
)
def test_reading_commands_create_no_store(
    command: list[str], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("BATCHGRAPH_HOME", str(fresh))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, command)

    assert not fresh.exists() and not (tmp_path / ".batchgraph").exists()
    if "abc" in command:
        assert result.exit_code == 2
        assert f"no job 'abc' in {fresh / 'batchgraph.db'}, which does not exist" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert "[]" in result.output or "no database at" in result.output
