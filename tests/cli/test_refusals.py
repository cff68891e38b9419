"""Mistakes refused with one line that names the file and the fix (exit code 2, no traceback),
before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchgraph.cli import app
from batchgraph.sandbox.storage import read_creations

runner = CliRunner()
SUBMIT = ["-p", "sandbox-openai", "-m", "gpt-4o-mini", "--prompt-template", "Rate: {text}"]


def refused(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("out.txt", "name the file with one of"),
        ("blocker/out.csv", "is a file, not a folder"),
        ("folder", "is a folder"),
    ],
)
def test_run_checks_the_results_path_before_anything_is_sent(
    home: Path, reviews: Path, tmp_path: Path, name: str, expected: str
) -> None:
    (tmp_path / "blocker").write_text("a regular file")
    (tmp_path / "folder.csv").mkdir()
    out = tmp_path / ("folder.csv" if name == "folder" else name)

    output = refused(["run", str(reviews), *SUBMIT, "-o", str(out)])

    assert expected in output
    assert read_creations(home / "sandbox") == []
