"""Results never need the input file: it may be moved, deleted or edited after the job was
written, and results may be written from another machine that reaches the database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from batchgraph.api import Batchgraph
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle

from .conftest import sandbox_factory, write_prompts

NO_WAIT = Backoff(initial=0.0, cap=0.0)
OPTIONS = ReadOptions(model="gpt-4o-mini")
ROWS = [
    {"review": "great value", "stars": 5, "shop": "north"},
    {"review": "broke after a week", "stars": 1, "shop": "south"},
    {"review": "fine, slow delivery", "stars": 3, "shop": "north"},
]
TEMPLATE = ReadOptions(model="gpt-4o-mini", template="Rate this review: {review}")


def write_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    return path


def write_parquet(path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist(ROWS), path)
    return path


def run_to_end(bg: Batchgraph, source: Path, options: ReadOptions) -> str:
    job_id = bg.submit(source, provider="openai", options=options)
    assert run_job(bg, job_id, NO_WAIT).counts["succeeded"] == 3
    return job_id


def test_jsonl_results_after_the_input_is_deleted(bg: Batchgraph, tmp_path: Path) -> None:
    source = write_prompts(tmp_path / "prompts.jsonl", 3)
    job_id = run_to_end(bg, source, OPTIONS)
    source.unlink()

    out = bg.write_results(job_id, tmp_path / "out.jsonl")

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["q0", "q1", "q2"]
    assert all(r["status"] == "succeeded" for r in records)


def test_csv_results_keep_the_columns_submitted_after_the_input_is_edited_then_moved(
    bg: Batchgraph, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "reviews.csv")
    job_id = run_to_end(bg, source, TEMPLATE)
    source.write_text("review,stars,shop\nsomething else entirely,0,east\n", encoding="utf-8")
    out = bg.write_results(job_id, tmp_path / "edited.csv")
    source.rename(tmp_path / "elsewhere.csv")

    moved = bg.write_results(job_id, tmp_path / "moved.csv")

    for path in (out, moved):
        with path.open(newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
        assert [r["review"] for r in records] == [row["review"] for row in ROWS]
        assert [r["stars"] for r in records] == ["5", "1", "3"]
        assert all(r["result_status"] == "succeeded" and r["result_text"] for r in records)


def test_parquet_results_keep_the_input_column_types_after_the_input_is_deleted(
    bg: Batchgraph, tmp_path: Path
) -> None:
    source = write_parquet(tmp_path / "reviews.parquet")
    job_id = run_to_end(bg, source, TEMPLATE)
    source.unlink()

    table = pq.read_table(bg.write_results(job_id, tmp_path / "out.parquet"))

    assert table.column("stars").to_pylist() == [5, 1, 3]
    assert table.schema.field("stars").type == pa.int64()
    assert table.column("shop").to_pylist() == ["north", "south", "north"]


def test_results_from_another_machine_on_the_same_postgres_database(
    postgres_location: str, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    factory = sandbox_factory(batchgraph_sandbox)
    submitter = tmp_path / "submitter"
    submitter.mkdir()
    source = write_csv(submitter / "reviews.csv")
    with Batchgraph.open(postgres_location, data_dir=submitter, provider_factory=factory) as bg:
        job_id = run_to_end(bg, source, TEMPLATE)
    source.unlink()  # the other machine never had the file

    with Batchgraph.open(postgres_location, data_dir=tmp_path / "other") as elsewhere:
        out = elsewhere.write_results(job_id, tmp_path / "other" / "out.csv")

    with out.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert [r["shop"] for r in records] == ["north", "south", "north"]


def test_the_store_keeps_a_copy_of_table_inputs_only(bg: Batchgraph, tmp_path: Path) -> None:
    jsonl = bg.submit(write_prompts(tmp_path / "p.jsonl", 3), provider="openai", options=OPTIONS)
    table = bg.submit(write_csv(tmp_path / "r.csv"), provider="openai", options=TEMPLATE)
    assert list(bg.store.input_copy(jsonl)) == []
    assert b"".join(bg.store.input_copy(table)) == (tmp_path / "r.csv").read_bytes()
