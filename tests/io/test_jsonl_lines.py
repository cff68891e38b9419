"""Each JSONL line is read as `json.loads` reads its bytes, odd encodings and errors included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.errors import InputError, InputProblem
from batchgraph.io import ReadOptions, validate_input
from batchgraph.io.jsonl import LONE_SURROGATE, jsonl_objects
from batchgraph.model import JSON

ODD_LINES = [
    b'{"id": "a", "prompt": "caf\xc3\xa9"}',
    b'\xef\xbb\xbf{"id": "a", "prompt": "after a byte-order mark"}',
    b'{"id": "a", "prompt": "caf\xe9"}',
    b'{"id": "\xed\xa0\x80", "prompt": "an encoded surrogate"}',
    '{"id": "a", "prompt": "utf-16"}'.encode("utf-16"),
    '{"id": "a", "prompt": "utf-32"}'.encode("utf-32"),
    b'\x00{"id": "a"}',
    b'{"id": "a\x00"}',
    b'\t{"id": "a"}\r',
    b'{"id": "a"} {"id": "b"}',
    b'{"id": NaN, "prompt": "x"}',
    b"[1, 2]",
    b"not json",
    b'{"id": 123456789012345678901234567890, "prompt": "an id beyond 64 bits"}',
    b'{"id": "a", "prompt": "x", "max_tokens": 18446744073709551616}',
    b'{"id": "a", "prompt": "x", "temperature": 1e400}',
    b'{"id": "\\ud800", "prompt": "an escaped lone surrogate"}',
]


def as_bytes_would_read(raw: bytes) -> JSON:
    """The object, or the problem, that `json.loads` on the line's bytes leads to."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as err:
        return f"malformed JSON ({err.msg} at column {err.colno})"
    if not isinstance(data, dict):
        return "the line is not a JSON object"
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return LONE_SURROGATE  # a string no file, prompt or provider can carry
    return data


@pytest.mark.parametrize("end", [b"", b"\n"])
@pytest.mark.parametrize("line", ODD_LINES)
def test_a_line_reads_as_json_loads_reads_its_bytes(
    tmp_path: Path, line: bytes, end: bytes
) -> None:
    raw = line + end
    path = tmp_path / "in.jsonl"
    path.write_bytes(raw)
    [(number, data)] = list(jsonl_objects(path))
    read = data.problem if isinstance(data, InputProblem) else data
    assert (number, read) == (1, as_bytes_would_read(raw))


def test_a_line_that_is_not_utf8_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "caf\xe9"}\n')
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m"))
    assert [str(p) for p in caught.value.problems] == [
        "line 2: not UTF-8 text — save the file as UTF-8"
    ]


def test_a_byte_order_mark_before_the_first_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "prompt": "x"}\n')
    assert validate_input(path, ReadOptions(model="m")).count == 1
