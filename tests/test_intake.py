"""A big input is validated in a worker process and stored exactly as a small one is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph import intake
from batchgraph.deps import Deps
from batchgraph.errors import BatchgraphError, InputError
from batchgraph.io import ReadOptions
from batchgraph.jobs import create_job
from batchgraph.store.sqlite import SqliteStore


def write_input(path: Path, count: int, bad_lines: tuple[int, ...] = ()) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            line = {
                "id": f"q{n}",
                "prompt": f"is {n} even?",
                "model": ("gpt-4o-mini", "gpt-4o")[n % 2],
            }
            if n + 1 in bad_lines:
                line["temperature"] = "hot"
            out.write(json.dumps(line) + "\n")
    return path


def stored_job(tmp_path: Path, source: Path, name: str) -> tuple[list[object], list[object]]:
    with SqliteStore(tmp_path / f"{name}.db") as store:
        job_id = create_job(
            Deps(store, tmp_path), input=source, provider="sandbox-openai", batch_size=7
        )
        ledger = [(row.idx, row.request, row.status, row.chunk) for row in store.ledger(job_id)]
        chunks = [(c.chunk, c.model, c.size, c.status) for c in store.list_chunks(job_id)]
    return ledger, chunks


def test_a_job_validated_in_a_worker_is_stored_as_one_validated_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_input(tmp_path / "in.jsonl", 5000)
    here = stored_job(tmp_path, source, "here")

    monkeypatch.setattr(intake, "PARALLEL_FROM_BYTES", 0)
    in_worker = stored_job(tmp_path, source, "worker")

    assert in_worker == here
    assert len(here[0]) == 5000 and len(here[1]) > 2


def test_a_bad_input_validated_in_a_worker_is_refused_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_input(tmp_path / "in.jsonl", 3000, bad_lines=(17, 2999))
    with pytest.raises(InputError) as here:
        stored_job(tmp_path, source, "here")

    monkeypatch.setattr(intake, "PARALLEL_FROM_BYTES", 0)
    with SqliteStore(tmp_path / "worker.db") as store:
        with pytest.raises(InputError) as in_worker:
            create_job(Deps(store, tmp_path), input=source, provider="sandbox-openai")
        assert store.list_jobs() == []

    assert str(in_worker.value) == str(here.value)
    [problem] = in_worker.value.problems  # the same problem on both lines, said once
    assert (problem.line, problem.also, problem.count) == (17, (2999,), 2)
    assert str(problem).startswith("lines 17, 2999: ")


def test_a_worker_that_dies_before_it_finishes_is_reported(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.jsonl", 10)
    # An unknown provider fails the worker before it sends anything: it exits with a traceback.
    rows = intake.StoredInput(source, ReadOptions(), "no-such-provider", "job1")

    with pytest.raises(BatchgraphError, match="validating process ended early"):
        list(rows)


def test_an_error_other_than_a_refusal_in_the_worker_is_reported_with_its_cause(
    tmp_path: Path,
) -> None:
    # A folder passes the parent's checks only if it is handed to the worker directly.
    folder = tmp_path / "not-a-file.jsonl"
    folder.mkdir()
    rows = intake.StoredInput(folder, ReadOptions(), "openai", "job1")

    with pytest.raises(
        BatchgraphError, match=r"validating the input failed: ConfigError: .*is a folder"
    ):
        list(rows)
