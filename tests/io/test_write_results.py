"""Results are written one record per input, in input order, all or nothing."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion

from batchgraph.errors import ConfigError, InputError
from batchgraph.io import RESULT_COLUMNS, ReadOptions
from batchgraph.io import write_results as write_records
from batchgraph.io.records import result_record
from batchgraph.model import Kind, Outcome, OutputSchema, ProviderError, Request, Result, Usage
from batchgraph.store.base import LedgerRow, LedgerStatus


def write_results(rows: Iterable[LedgerRow], out: Path, **options: Any) -> int:
    """Write ledger rows as the store hands them over: as results records."""
    return write_records((result_record(row) for row in rows), out, **options)


def succeeded(idx: int, request_id: str, text: str = "4") -> LedgerRow:
    request = Request(id=request_id, line=idx + 1, model="gpt-4o-mini")
    result = Result(
        custom_id=str(idx),
        outcome=Outcome.SUCCEEDED,
        batch_id="batch_1",
        text=text,
        parsed={"answer": 4},
        stop_reason="stop",
        model="gpt-4o-mini-2024-07-18",
        usage=Usage(input_tokens=12, output_tokens=3, cached_tokens=2),
    )
    return LedgerRow(idx, request, LedgerStatus.SUCCEEDED, 1, 0, result)


def failed(idx: int, request_id: str) -> LedgerRow:
    request = Request(id=request_id, line=idx + 1, model="gpt-4o-mini")
    result = Result(
        custom_id=str(idx),
        outcome=Outcome.FAILED,
        batch_id="batch_2",
        error=ProviderError("invalid_request", "max_tokens too large"),
    )
    return LedgerRow(idx, request, LedgerStatus.FAILED, 2, 1, result)


def embedded(idx: int, request_id: str) -> LedgerRow:
    request = Request(id=request_id, line=idx + 1, model="e", kind=Kind.EMBEDDING, input="x")
    result = Result(str(idx), Outcome.SUCCEEDED, "batch_3", embedding=[0.5, -1.0])
    return LedgerRow(idx, request, LedgerStatus.SUCCEEDED, 1, 0, result)


def test_jsonl_results_hold_every_field_in_input_order(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    count = write_results([succeeded(0, "a"), failed(1, "b")], out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert count == 2
    assert records[0] == {
        "id": "a",
        "status": "succeeded",
        "text": "4",
        "parsed": {"answer": 4},
        "embedding": None,
        "stop_reason": "stop",
        "model": "gpt-4o-mini-2024-07-18",
        "input_tokens": 12,
        "output_tokens": 3,
        "cached_tokens": 2,
        "attempts": 1,
        "error_code": None,
        "error_message": None,
        "batch_id": "batch_1",
        "tool_calls": None,
        "refusal": None,
        "reasoning_tokens": 0,
        "logprobs": None,
    }
    assert (records[1]["id"], records[1]["status"], records[1]["attempts"]) == ("b", "failed", 2)
    assert records[1]["error_code"] == "invalid_request"
    assert records[1]["error_message"] == "max_tokens too large"


def test_a_row_without_a_result_still_gets_a_record(tmp_path: Path) -> None:
    request = Request(id="late", line=1, model="gpt-4o")
    out = tmp_path / "results.jsonl"
    write_results([LedgerRow(0, request, LedgerStatus.EXPIRED, 3, 2, None)], out)
    record = json.loads(out.read_text())
    assert (record["status"], record["model"], record["text"]) == ("expired", "gpt-4o", None)


def test_csv_results_write_json_fields_as_text(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    write_results([succeeded(0, "a"), embedded(1, "e")], out)
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == RESULT_COLUMNS
    assert json.loads(rows[0]["parsed"]) == {"answer": 4}
    assert json.loads(rows[1]["embedding"]) == [0.5, -1.0]
    assert rows[1]["text"] == ""


def test_parquet_results_keep_embeddings_as_float_lists(tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    write_results([embedded(0, "e"), succeeded(1, "a")], out)
    table = pq.read_table(out)
    assert table.column_names == list(RESULT_COLUMNS)
    assert table.schema.field("embedding").type == pa.list_(pa.float64())
    assert table.column("embedding").to_pylist() == [[0.5, -1.0], None]
    assert json.loads(table.column("parsed")[1].as_py()) == {"answer": 4}


def test_csv_input_columns_keep_their_names_and_results_take_a_prefix(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("city,text\nParis,capital\nRome,old\n")
    out = tmp_path / "results.csv"
    options = ReadOptions(model="m", template="{city}")
    write_results(
        [succeeded(0, "1", "France"), succeeded(1, "2", "Italy")],
        out,
        input_path=source,
        read_options=options,
    )
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["city", "text", "result_id"]
    assert [(r["city"], r["text"], r["result_text"]) for r in rows] == [
        ("Paris", "capital", "France"),
        ("Rome", "old", "Italy"),
    ]


def test_parquet_input_columns_keep_their_types(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"sku": ["s1", "s2"], "qty": pa.array([3, 4], pa.int32())}), source)
    out = tmp_path / "results.parquet"
    options = ReadOptions(model="m", template="{sku}", id_column="sku")
    write_results(
        [succeeded(0, "s1"), succeeded(1, "s2")], out, input_path=source, read_options=options
    )
    table = pq.read_table(out)
    assert table.schema.field("qty").type == pa.int32()
    assert table.column("qty").to_pylist() == [3, 4]
    assert table.column("result_id").to_pylist() == ["s1", "s2"]


def test_an_input_that_no_longer_matches_the_results_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("prompt\nhello\n")
    out = tmp_path / "results.csv"
    with pytest.raises(InputError, match="pass the input file the job was submitted with"):
        write_results(
            [succeeded(0, "1"), succeeded(1, "2")],
            out,
            input_path=source,
            read_options=ReadOptions(model="m"),
        )
    assert not out.exists()


def test_a_crash_while_writing_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    out.write_text("previous results\n")

    def rows() -> Iterator[LedgerRow]:
        yield succeeded(0, "a")
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError):
        write_results(rows(), out)
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]


def test_an_unknown_output_extension_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.jsonl, \.csv, \.parquet"):
        write_results([], tmp_path / "results.xlsx")


def test_many_rows_are_written_to_parquet_in_several_row_groups(tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    count = write_results((succeeded(n, f"r{n}") for n in range(25_000)), out)
    assert count == 25_000
    parquet = pq.ParquetFile(out)
    assert parquet.metadata.num_row_groups == 3
    assert parquet.read_row_group(2).column("id")[-1].as_py() == "r24999"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_new_results_file_gets_the_mode_the_umask_gives(
    tmp_path: Path, umask: int, mode: int
) -> None:
    out = tmp_path / "results.csv"
    previous = os.umask(umask)
    try:
        write_results([succeeded(0, "a")], out)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_a_replaced_results_file_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    out.write_text("previous results\n")
    out.chmod(0o640)
    write_results([succeeded(0, "a")], out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert json.loads(out.read_text())["id"] == "a"


def test_dash_writes_jsonl_to_standard_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    count = write_results([succeeded(0, "a"), failed(1, "b")], Path("-"))
    assert count == 2
    lines = stdout.buffer.getvalue().decode().splitlines()  # type: ignore[attr-defined]
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]
    assert not stdout.closed
    assert list(tmp_path.iterdir()) == []


def test_a_table_has_no_column_the_job_left_empty(tmp_path: Path) -> None:
    rows = [embedded(0, "e"), embedded(1, "f")]
    out = tmp_path / "results.csv"
    write_records(lambda: (result_record(row) for row in rows), out)
    with out.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == [
        "id",
        "status",
        "embedding",
        "model",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "attempts",
        "batch_id",
    ]


SCHEMA = OutputSchema(
    "review",
    {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": ["positive", "negative"]},
            "confidence": {"type": "number"},
            "stars": {"type": "integer"},
            "flagged": {"type": "boolean"},
            "topics": {"type": "array", "items": {"type": "string"}},
            "detail": {"type": "object"},
        },
    },
)


def test_a_schema_jobs_parquet_has_a_typed_column_per_property(tmp_path: Path) -> None:
    answer = {
        "sentiment": "positive",
        "confidence": 0.9,
        "stars": 4,
        "flagged": False,
        "topics": ["price", "delivery"],
        "detail": {"note": "ok"},
    }
    row = succeeded(0, "a", json.dumps(answer))
    assert row.result is not None
    row.result.parsed = answer
    out = tmp_path / "results.parquet"
    write_records(lambda: [result_record(row)], out, read_options=ReadOptions(output_schema=SCHEMA))

    frame = pd.read_parquet(out)
    kinds = frame.dtypes
    assert (kinds["answer_confidence"], kinds["answer_stars"]) == ("float64", "int64")
    assert kinds["answer_flagged"] == "bool"
    assert pd.api.types.is_string_dtype(kinds["answer_sentiment"])
    assert pd.api.types.is_string_dtype(kinds["answer_detail"])  # an object: JSON text
    schema = pq.read_schema(out)
    assert schema.field("answer_sentiment").type == pa.string()
    assert schema.field("answer_topics").type == pa.list_(pa.string())
    record = frame.iloc[0]
    assert (record["answer_stars"], list(record["answer_topics"])) == (4, ["price", "delivery"])
    assert json.loads(record["answer_detail"]) == {"note": "ok"}
    assert json.loads(record["parsed"]) == answer


def test_openai_results_format_reads_with_an_openai_output_parser(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    rows = [succeeded(0, "a"), failed(1, "b"), embedded(2, "e")]
    write_records((result_record(row) for row in rows), out, results_format="openai")

    answers, errors, vectors = {}, {}, {}
    for line in out.read_text().splitlines():  # as OpenAI's own examples read an output file
        entry = json.loads(line)
        if entry["error"] is not None:
            errors[entry["custom_id"]] = entry["error"]["code"]
            continue
        body = entry["response"]["body"]
        assert entry["response"]["status_code"] == 200
        if body["object"] == "list":
            vectors[entry["custom_id"]] = CreateEmbeddingResponse.model_validate(body)
        else:
            answers[entry["custom_id"]] = ChatCompletion.model_validate(body)
    assert answers["a"].choices[0].message.content == "4"
    assert answers["a"].usage is not None and answers["a"].usage.prompt_tokens == 12
    assert errors == {"b": "invalid_request"}
    assert vectors["e"].data[0].embedding == [0.5, -1.0]


def test_openai_results_format_is_jsonl_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"name the file \.jsonl"):
        write_records([], tmp_path / "results.csv", results_format="openai")
