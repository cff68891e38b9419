"""`--deadline`, `--hedge-margin` and `--hedge-provider`: a deadline that cannot be kept as
asked is refused with one line naming the flag and the fix, before anything is stored or sent;
a good one is stored with the job."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchgraph.api import Batchgraph
from batchgraph.cli import app
from batchgraph.execution import Execution
from batchgraph.sandbox.storage import read_creations

runner = CliRunner()
SUBMIT = ["-p", "sandbox-openai", "-m", "gpt-4o-mini", "--prompt-template", "Rate: {text}"]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--deadline", "2020-01-01T09:00"], "--deadline is"),
        (["--deadline", "2020-01-01T09:00"], "in the past; give a later time or a duration"),
        (["--deadline", "soon"], "--deadline 'soon' is neither a duration (2h, 90m, 45s) nor"),
        (["--deadline", "1h", "--hedge-margin", "2h"], "--hedge-margin 2h is not less than"),
        (["--deadline", "1h", "--hedge-margin", "2h"], "give a smaller --hedge-margin (e.g. 6m)"),
        (["--deadline", "1h", "--hedge-margin", "a while"], "--hedge-margin 'a while' is not a"),
        (["--deadline", "1h", "--hedge-margin", "0"], "--hedge-margin must be above 0 seconds"),
        (["--hedge-margin", "10m"], "--hedge-margin and --hedge-provider need a --deadline"),
        (["--hedge-provider", "sandbox-mistral"], "need a --deadline; add one"),
        (["--deadline", "1h", "--hedge-provider", "nowhere"], "unknown provider 'nowhere'"),
        (
            ["--deadline", "1h", "--hedge-provider", "sandbox-gemini"],
            "--hedge-provider: sandbox-gemini has no synchronous API in batchgraph",
        ),
        (["--deadline", "1h", "--mode", "sync"], "drop --deadline or --mode sync"),
    ],
)
def test_a_deadline_that_cannot_be_kept_is_refused_before_anything_is_sent(
    home: Path, reviews: Path, flags: list[str], expected: str
) -> None:
    result = runner.invoke(app, ["submit", str(reviews), *SUBMIT, *flags])

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in " ".join(result.output.split())
    assert read_creations(home / "sandbox") == []
    assert not (home / "batchgraph.db").exists() or not Batchgraph.open().jobs()


def test_a_job_on_a_provider_without_a_synchronous_api_needs_a_hedge_provider(
    home: Path, reviews: Path
) -> None:
    gemini = ["-p", "sandbox-gemini", "-m", "gemini-2.5-flash", "--prompt-template", "{text}"]
    result = runner.invoke(app, ["submit", str(reviews), *gemini, "--deadline", "1h"])

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "--deadline: sandbox-gemini has no synchronous API" in message
    assert "add --hedge-provider with one of:" in message and "sandbox-openai" in message


def test_a_deadline_is_stored_with_the_job(home: Path, reviews: Path) -> None:
    flags = ["--deadline", "2h", "--hedge-margin", "15m", "--hedge-provider", "sandbox-mistral"]
    result = runner.invoke(app, ["submit", str(reviews), *SUBMIT, *flags])

    assert result.exit_code == 0, result.output
    with Batchgraph.open() as bg:
        (job,) = bg.jobs()
        execution = Execution.from_spec(job.spec)
    assert execution.deadline is not None and execution.submitted_at is not None
    assert execution.deadline - execution.submitted_at == pytest.approx(7200, abs=60)
    assert execution.hedge_margin == 900
    assert execution.hedge_provider == "sandbox-mistral"
    assert execution.hedge_at() == execution.deadline - 900


def test_the_default_margin_is_a_tenth_of_the_time_left_and_at_least_a_poll() -> None:
    assert Execution(deadline=10_000.0, submitted_at=0.0).margin() == 1000.0
    assert Execution(deadline=300.0, submitted_at=0.0).margin() == 60.0
    assert Execution(deadline=40.0, submitted_at=0.0).margin() == 20.0  # never past half
