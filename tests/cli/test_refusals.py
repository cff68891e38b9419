"""Mistakes refused with one line that names the file and the fix (exit code 2, no traceback),
before anything is sent."""

from __future__ import annotations

import os
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


def nested_json(path: Path) -> Path:
    path.write_text('{"id": "a", "prompt": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    return path


def lone_surrogate(path: Path) -> Path:
    path.write_text('{"id": "a", "prompt": "bad \\ud800 text"}\n', encoding="utf-8")
    return path


def latin1_csv(path: Path) -> Path:
    path.write_bytes("id,text\n1,café crème\n".encode("latin-1"))
    return path


def corrupt_parquet(path: Path) -> Path:
    path.write_bytes(b"PAR1" + b"\x00garbage" * 50 + b"PAR1")
    return path


def csv_as_parquet(path: Path) -> Path:
    path.write_text("id,text\n1,hello\n")
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


BAD_INPUTS = {
    "deep.jsonl": (nested_json, "nested"),
    "surrogate.jsonl": (lone_surrogate, "surrogate"),
    "latin1.csv": (latin1_csv, "UTF-8"),
    "corrupt.parquet": (corrupt_parquet, "Parquet"),
    "renamed.parquet": (csv_as_parquet, "Parquet"),
    "inputs.jsonl": (folder, "folder"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_an_unreadable_input_is_one_line_naming_the_file_and_the_fix(
    home: Path, tmp_path: Path, name: str
) -> None:
    make, expected = BAD_INPUTS[name]
    source = make(tmp_path / name)

    output = refused(["submit", str(source), *SUBMIT])

    assert name in output and expected in output
    assert read_creations(home / "sandbox") == []


def test_a_database_that_cannot_be_created_is_one_line(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("a regular file, not a folder")
    db = tmp_path / "blocker" / "jobs.db"

    output = refused(["submit", str(reviews), *SUBMIT, "--db", str(db)])

    assert "jobs.db" in output and "folder" in output


def test_results_into_a_folder_that_cannot_be_written_is_one_line(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    submitted = runner.invoke(app, ["submit", str(reviews), *SUBMIT])
    assert submitted.exit_code == 0, submitted.output
    job = submitted.output.split()[0]
    (tmp_path / "blocker").write_text("a regular file, not a folder")

    output = refused(["results", job, "-o", str(tmp_path / "blocker" / "out.csv")])

    assert "out.csv" in output and "folder" in output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_for_the_database_or_the_results_is_one_line(
    home: Path, reviews: Path, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        output = refused(["submit", str(reviews), *SUBMIT, "--db", str(locked / "jobs.db")])
        assert "jobs.db" in output
        output = refused(["run", str(reviews), *SUBMIT, "-o", str(locked / "out.csv")])
        assert "out.csv" in output and "not writable" in output
    finally:
        locked.chmod(0o700)
