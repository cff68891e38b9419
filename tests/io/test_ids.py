"""Ids are non-empty strings or JSON numbers; anything else is named with its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.errors import InputError
from batchgraph.io import ReadOptions, validate_input, validated_requests
from batchgraph.model import JSON


def write_line(path: Path, request_id: JSON) -> Path:
    path.write_text(json.dumps({"id": request_id, "prompt": "hi"}) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("request_id", "read"), [("row-1", "row-1"), (" x ", " x "), (7, "7"), (2.5, "2.5")]
)
def test_strings_are_kept_and_numbers_become_strings(
    tmp_path: Path, request_id: JSON, read: str
) -> None:
    path = write_line(tmp_path / "in.jsonl", request_id)
    [request] = validated_requests(path, ReadOptions(model="m"))
    assert request.id == read


@pytest.mark.parametrize(
    ("request_id", "expected"),
    [
        (None, 'line 1: missing "id" — add "id": "<unique id>" to the line'),
        ("", 'line 1: "id" is empty — give "id" a non-empty value'),
        (" \t", 'line 1: "id" is empty — give "id" a non-empty value'),
        (True, 'line 1: "id" is a boolean (true) — make "id" a string such as "row-1"'),
        (["a"], 'line 1: "id" is a list — make "id" a string such as "row-1"'),
        ({"a": 1}, 'line 1: "id" is an object — make "id" a string such as "row-1"'),
    ],
)
def test_other_ids_are_named_with_the_fix(tmp_path: Path, request_id: JSON, expected: str) -> None:
    path = write_line(tmp_path / "in.jsonl", request_id)
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m"))
    assert [str(problem) for problem in caught.value.problems] == [expected]
