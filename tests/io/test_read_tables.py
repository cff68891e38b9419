"""CSV and Parquet rows become requests through a prompt template over the columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batchgraph.errors import ConfigError, InputError
from batchgraph.io import ReadOptions, read_requests, validate_input
from batchgraph.model import Kind


def csv_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_fill_the_template_and_are_numbered_from_one(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", 'city,country\nParis,France\n"Rome, old",Italy\n')
    options = ReadOptions(model="gpt-4o-mini", template="Where is {city} ({country})?")
    summary = validate_input(path, options)
    requests = list(read_requests(path, options))
    assert summary.count == 2
    assert [r.id for r in requests] == ["1", "2"]
    assert [r.line for r in requests] == [2, 3]
    assert requests[1].messages == ({"role": "user", "content": "Where is Rome, old (Italy)?"},)


def test_an_id_column_gives_the_ids(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "key,prompt\nk-9,hello\n")
    [request] = read_requests(path, ReadOptions(model="m", id_column="key"))
    assert request.id == "k-9"
    assert request.messages[0]["content"] == "hello"


def test_unknown_template_column_is_named_with_the_columns_that_exist(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "city,country\nParis,France\n")
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m", template="Where is {town}?"))
    assert str(caught.value.problems[0]) == (
        "line 1: the prompt template uses {town}, which the table does not have"
        " — use only the columns: city, country"
    )


def test_a_duplicate_id_in_the_id_column_names_both_lines(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "key,prompt\na,x\nb,y\na,z\n")
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m", id_column="key"))
    assert str(caught.value.problems[0]) == (
        "line 4: duplicate id 'a' (also on line 2) — give every line its own id"
    )


def test_a_row_with_an_empty_prompt_is_reported_on_its_line(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", 'question\nWhy?\n""\n')
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m", template="{question}"))
    assert str(caught.value.problems[0]) == (
        "line 3: empty prompt — fill the column(s) question on this row or remove it"
    )


def test_a_row_with_too_many_fields_says_to_quote(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "prompt\nhello\nhello, world\n")
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m"))
    assert str(caught.value.problems[0]).startswith("line 3: row has 2 fields, the header has 1")


def test_an_unclosed_quote_is_refused_on_the_line_where_it_opened(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", 'id,text\n1,"good\n2,bad\n3,more\n')
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m", id_column="id", template="{text}"))
    [problem] = caught.value.problems
    assert problem.line == 2
    assert "never closed" in str(problem) and '""' in str(problem)


def test_a_quote_closed_on_a_later_line_is_one_field_over_several_lines(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", 'id,text\n1,"good\nstill good"\n2,bad\n')
    options = ReadOptions(model="m", id_column="id", template="{text}")
    requests = list(read_requests(path, options))
    assert [(r.id, r.line) for r in requests] == [("1", 2), ("2", 4)]
    assert requests[0].messages[0]["content"] == "good\nstill good"


def test_a_table_without_a_model_is_reported_once(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "prompt\na\nb\nc\n")
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions())
    assert [str(p) for p in caught.value.problems] == ["line 1: no model — pass --model"]


def test_a_header_only_csv_is_an_empty_input(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "prompt\n")
    with pytest.raises(InputError, match="the file holds no requests"):
        validate_input(path, ReadOptions(model="m"))


def test_a_positional_field_in_the_template_is_refused_at_once(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "prompt\na\n")
    with pytest.raises(ConfigError, match="does not name a column"):
        validate_input(path, ReadOptions(model="m", template="Say {}"))


def test_parquet_rows_are_read_in_batches_with_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    rows = 10_000
    table = pa.table({"sku": [f"s{n}" for n in range(rows)], "price": [n / 4 for n in range(rows)]})
    pq.write_table(table, path, row_group_size=3_000)
    options = ReadOptions(model="m", template="{sku} costs {price:.2f}", id_column="sku")
    summary = validate_input(path, options)
    requests = list(read_requests(path, options))
    assert summary.count == rows
    assert requests[5].id == "s5"
    assert requests[5].line == 6
    assert requests[5].messages[0]["content"] == "s5 costs 1.25"


def test_table_rows_become_embeddings_when_asked(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "in.csv", "input\nembed me\n")
    [request] = read_requests(path, ReadOptions(model="e", kind=Kind.EMBEDDING))
    assert (request.kind, request.input) == (Kind.EMBEDDING, "embed me")
