"""The commands as a user types them (in-process), on the embedded sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from batchgraph.api import Batchgraph
from batchgraph.cli import app
from batchgraph.providers import registry
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore, read_creations

runner = CliRunner()


def test_dry_run_estimates_cost_and_sends_nothing(home: Path, reviews: Path) -> None:
    result = runner.invoke(app, ["submit", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o",
                                 "--prompt-template", "Rate: {text}", "--dry-run"])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "nothing was sent" in result.output
    assert "gpt-4o" in result.output and "$" in result.output
    assert read_creations(home / "sandbox") == []


def test_max_cost_strict_refuses_a_job_whose_range_reaches_over_the_limit(
    home: Path, reviews: Path
) -> None:
    result = runner.invoke(app, ["submit", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o",
                                 "--prompt-template", "Rate: {text}", "--max-tokens", "100000",
                                 "--max-cost", "0.01", "--max-cost-strict"])  # fmt: skip

    assert result.exit_code == 2
    assert "highest estimated batch cost" in result.output and "over --max-cost" in result.output
    assert read_creations(home / "sandbox") == []


def test_max_cost_compares_the_central_estimate_not_the_highest(home: Path, reviews: Path) -> None:
    args = ["submit", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o",
            "--prompt-template", "Rate: {text}", "--max-tokens", "100000"]  # fmt: skip
    refused = runner.invoke(app, [*args, "--max-cost", "0.000001"])
    accepted = runner.invoke(app, [*args, "--max-cost", "0.01"])

    assert refused.exit_code == 2 and "estimated batch cost" in refused.output
    assert accepted.exit_code == 0, accepted.output


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_a_max_cost_of_zero_or_less_is_refused_before_reading_the_input(
    home: Path, tmp_path: Path, limit: str
) -> None:
    result = runner.invoke(app, ["submit", str(tmp_path / "absent.jsonl"), "-p", "sandbox-openai",
                                 "--max-cost", limit])  # fmt: skip

    assert result.exit_code == 2
    assert "must be above 0" in result.output


def test_run_writes_parquet_results_keeping_the_input_columns(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["run", str(reviews), "-p", "sandbox-anthropic",
                                 "-m", "claude-haiku-4-5", "--prompt-template", "Rate: {text}",
                                 "--id-column", "review_id", "-o", str(out),
                                 "--poll-max", "0.1"])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "every request accounted for" in result.output
    table = pq.read_table(out).to_pylist()
    assert [row["result_id"] for row in table] == ["A7", "B2", "C9"]
    assert [row["stars"] for row in table] == ["5", "1", "3"]  # CSV values are text
    assert {row["result_status"] for row in table} == {"succeeded"}


def test_status_cost_and_list_show_a_finished_job(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    ran = runner.invoke(app, ["run", str(reviews), "-p", "sandbox-mistral",
                              "-m", "mistral-small-latest", "--prompt-template", "Rate: {text}",
                              "--name", "stars", "--poll-max", "0.1"])  # fmt: skip
    assert ran.exit_code == 0, ran.output

    listed = runner.invoke(app, ["list"])
    with Batchgraph.open() as bg:
        (job,) = bg.jobs()
    job_id = job.id
    status = runner.invoke(app, ["status", job_id])
    cost = runner.invoke(app, ["cost", job_id, "--json"])

    assert job_id in listed.output and "stars" in listed.output and "done" in listed.output
    assert "succeeded" in status.output and "SUCCESS" in status.output
    report = json.loads(cost.output)
    assert report["counts"]["succeeded"] == 3
    assert report["batch_usd"] < report["sync_usd"]
    assert report["saving_usd"] == pytest.approx(report["sync_usd"] - report["batch_usd"])


def test_unknown_job_says_how_to_find_the_right_one(home: Path) -> None:
    result = runner.invoke(app, ["status", "nope"])

    assert result.exit_code == 2
    assert "batchgraph list" in result.output


def test_submit_without_a_provider_names_the_choices(home: Path, reviews: Path) -> None:
    result = runner.invoke(app, ["submit", str(reviews), "-m", "gpt-4o-mini"])

    assert result.exit_code == 2
    assert "--provider" in result.output and "sandbox-openai" in result.output


def test_unknown_provider_names_every_known_one_and_stores_nothing(
    home: Path, reviews: Path
) -> None:
    result = runner.invoke(app, ["submit", str(reviews), "--provider", "nonsense"])

    assert result.exit_code == 2
    assert "unknown provider 'nonsense'" in result.output
    for name in registry.names():
        assert name in result.output
    assert [path for path in home.rglob("*") if "sandbox" not in path.parts] == []


def test_worker_serves_every_open_job_until_idle(home: Path, reviews: Path) -> None:
    slow = SandboxConfig(time_scale=3600.0, processing_seconds=3600.0)  # a batch takes 1 s
    SandboxContext(SandboxStore(home / "sandbox"), slow).save_config()
    for provider, model in (
        ("sandbox-openai", "gpt-4o-mini"),
        ("sandbox-mistral", "mistral-small"),
    ):
        submitted = runner.invoke(app, ["submit", str(reviews), "-p", provider, "-m", model,
                                        "--prompt-template", "Rate: {text}"])  # fmt: skip
        assert submitted.exit_code == 0, submitted.output

    served = runner.invoke(app, ["worker", "--interval", "0.05", "--until-idle"])

    assert served.exit_code == 0, served.output
    assert served.output.count("finished") == 2
    with Batchgraph.open() as bg:
        assert all(job.report is not None for job in bg.jobs())
