"""Read options: formats, output schema files, and a JSON form kept with the job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.errors import ConfigError, InputError
from batchgraph.io import InputFormat, ReadOptions, load_output_schema, read_requests
from batchgraph.model import Kind, OutputSchema


def test_the_schema_is_named_after_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "city_facts.json"
    path.write_text('{"type": "object", "properties": {"population": {"type": "integer"}}}')
    schema = load_output_schema(path)
    assert schema.name == "city_facts"
    assert schema.schema["properties"] == {"population": {"type": "integer"}}


def test_a_schema_file_with_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{\n  "type": "object",\n  oops\n}')
    with pytest.raises(ConfigError, match=r"s\.json: not valid JSON \(line 3"):
        load_output_schema(path)


def test_a_schema_that_is_not_a_json_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "banana"}')
    with pytest.raises(ConfigError, match="not a valid JSON schema"):
        load_output_schema(path)


def test_the_options_schema_applies_to_every_chat_line(tmp_path: Path) -> None:
    schema_path = tmp_path / "answer.json"
    schema_path.write_text('{"type": "object"}')
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "prompt": "hi"}\n')
    options = ReadOptions(model="m").with_schema_file(schema_path)
    [request] = read_requests(source, options)
    assert request.output_schema == OutputSchema("answer", {"type": "object"})


def test_options_survive_their_json_form() -> None:
    options = ReadOptions(
        format=InputFormat.CSV,
        model="gpt-4o-mini",
        system="Be brief.",
        temperature=0.3,
        max_tokens=64,
        kind=Kind.CHAT,
        output_schema=OutputSchema("answer", {"type": "object"}),
        template="Q: {question}",
        id_column="key",
    )
    data = json.loads(json.dumps(options.to_json()))
    assert ReadOptions.from_json(data) == options
    assert ReadOptions.from_json({}) == ReadOptions()


def test_an_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    source = tmp_path / "prompts.txt"
    source.write_text('{"id": "a", "prompt": "hi"}\n')
    [request] = read_requests(source, ReadOptions(model="m", format=InputFormat.JSONL))
    assert request.id == "a"


def test_a_multiline_csv_field_keeps_later_line_numbers_true(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('prompt\n"first\nsecond"\n""\n')
    with pytest.raises(InputError) as caught:
        list(read_requests(source, ReadOptions(model="m")))
    assert caught.value.problems[0].line == 4
