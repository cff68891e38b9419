"""The fast JSON codec writes what `json` writes and reads provider lines as `json` does."""

from __future__ import annotations

import json
import math

import pytest

from batchgraph import jsoncodec

VALUES = [
    {"id": "ü 👋", "n": 3, "x": 0.1, "tiny": 1e-05, "big": 1e16, "list": [True, None, -7]},
    {"beyond_64_bits": 123456789012345678901234567890},
    {1: "integer key"},
    'quote " and backslash \\ and newline \n',
]


@pytest.mark.parametrize("value", VALUES)
def test_written_json_reads_back_as_the_same_value(value: object) -> None:
    text = jsoncodec.dumps(value)

    assert json.loads(text) == json.loads(json.dumps(value))


def test_big_integers_are_written_exactly() -> None:
    assert jsoncodec.dumps([2**70]) == f"[{2**70}]"


def test_a_provider_line_json_accepts_but_orjson_refuses_is_still_read() -> None:
    assert math.isnan(jsoncodec.loads('{"v": NaN}')["v"])


def test_a_malformed_provider_line_raises_json_s_own_error() -> None:
    with pytest.raises(json.JSONDecodeError) as raised:
        jsoncodec.loads(b'{"custom_id": ')

    assert raised.type is json.JSONDecodeError


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 123456789012345678901234567890}',
        '{"n": -18446744073709551617, "s": "1234567890123456789012"}',
        '{"inf": 1e400, "s": "\\ud800"}',
        '{"a": 1, "a": 2, "f": 0.30000000000000004}',
    ],
)
def test_text_reads_as_json_loads_reads_it(text: str) -> None:
    assert repr(jsoncodec.loads(text)) == repr(json.loads(text))
    assert repr(jsoncodec.loads(text.encode())) == repr(json.loads(text))
