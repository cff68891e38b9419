"""`--approve`: the estimate first, and nothing is sent unless the user says yes."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from batchgraph.cli import app
from batchgraph.sandbox.storage import read_creations

runner = CliRunner()
SUBMIT = ["-p", "sandbox-openai", "-m", "gpt-4o", "--prompt-template", "Rate: {text}", "--approve"]


def test_declining_the_estimate_sends_nothing(home: Path, reviews: Path) -> None:
    result = runner.invoke(app, ["submit", str(reviews), *SUBMIT], input="n\n")

    assert result.exit_code == 1
    assert "Estimate: nothing was sent yet" in result.output and "gpt-4o" in result.output
    assert "not approved; nothing was sent" in result.output
    assert read_creations(home / "sandbox") == []


def test_approving_the_estimate_submits_the_job(home: Path, reviews: Path) -> None:
    result = runner.invoke(app, ["submit", str(reviews), *SUBMIT], input="y\n")

    assert result.exit_code == 0, result.output
    assert "Submit this job at this estimated cost?" in result.output
    assert len(read_creations(home / "sandbox", "openai")) == 1
