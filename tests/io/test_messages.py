"""Chat messages are kept as written (the common chat-completions shape); blank or odd ones are
named by their position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.errors import InputError
from batchgraph.io import ReadOptions, validate_input, validated_requests
from batchgraph.model import JSON, Request


def read_one(tmp_path: Path, messages: JSON) -> Request:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "messages": messages}) + "\n", encoding="utf-8")
    [request] = validated_requests(path, ReadOptions(model="m"))
    return request


def problem_of(tmp_path: Path, messages: JSON) -> str:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "messages": messages}) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m"))
    [problem] = caught.value.problems
    return str(problem)


def test_messages_are_kept_as_written_in_input_order(tmp_path: Path) -> None:
    messages = [
        {"content": "Hello", "role": "user", "name": "ann"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "  and again  "},
    ]
    request = read_one(tmp_path, messages)
    assert request.messages == tuple(messages)
    assert request.system is None


def test_system_messages_images_and_tool_turns_stay_in_place(tmp_path: Path) -> None:
    messages = [
        {"role": "developer", "content": "Be terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
        {"role": "system", "content": "In French."},
    ]
    request = read_one(tmp_path, messages)
    assert request.messages == tuple(messages)
    assert request.system is None


@pytest.mark.parametrize("blank", ["", " ", "\n\t", "\u3000"])
def test_turns_that_are_all_blank_are_an_empty_prompt(tmp_path: Path, blank: str) -> None:
    messages = [{"role": "user", "content": blank}, {"role": "assistant", "content": blank}]
    assert problem_of(tmp_path, messages) == (
        'line 1: empty prompt — add a "user" message with some text'
    )


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([], '"messages" is not a list of messages'),
        ({"role": "user", "content": "x"}, '"messages" is not a list of messages'),
        ([{"role": "user", "content": "x"}, "hi"], "messages[1] is a string ('hi')"),
        (
            [{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}],
            'messages[1] (a tool result) has no "tool_call_id"',
        ),
        ([{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}], "messages[1] has"),
        ([{"role": "user", "content": "x"}, {"role": "user"}], "messages[1].content is null"),
        ([{"role": "user", "content": 7}], "messages[0].content is a number (7)"),
        (
            [{"role": "user", "content": [{"type": "image_url"}]}],
            "messages[0].content[0] has no image URL",
        ),
        (
            [{"role": "user", "content": [{"type": "audio", "data": "x"}]}],
            "messages[0].content[0] is of type 'audio'",
        ),
    ],
)
def test_an_odd_message_is_named_by_its_position(
    tmp_path: Path, messages: JSON, expected: str
) -> None:
    assert problem_of(tmp_path, messages).startswith(f"line 1: {expected}")


@pytest.mark.parametrize("role", [["user"], {"name": "user"}])
def test_a_role_that_is_not_a_string_is_reported_on_its_line(tmp_path: Path, role: JSON) -> None:
    problem = problem_of(tmp_path, [{"role": role, "content": "hi"}])

    assert problem.startswith(f"line 1: messages[0] has role {role!r}")
