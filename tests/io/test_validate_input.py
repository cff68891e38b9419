"""Validation names every bad line with its number and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.errors import ConfigError, InputError
from batchgraph.io import ReadOptions, validate_input, validated_requests
from batchgraph.model import Kind, Request


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def problems_of(path: Path, options: ReadOptions | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        validate_input(path, options or ReadOptions(model="gpt-4o-mini"))
    return caught.value


def test_malformed_json_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "in.jsonl", '{"id": "a", "prompt": "hi"}', '{"id": "b", "prompt":'
    )
    error = problems_of(path)
    assert [p.line for p in error.problems] == [2]
    assert "malformed JSON" in str(error)
    assert "line 2:" in str(error)
    assert "one JSON object" in error.problems[0].fix


def test_missing_id_is_reported_with_how_to_add_one(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", '{"prompt": "hi"}')
    error = problems_of(path)
    assert str(error.problems[0]) == ('line 1: missing "id" — add "id": "<unique id>" to the line')


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "in.jsonl",
        '{"id": "q1", "prompt": "a"}',
        '{"id": "q2", "prompt": "b"}',
        '{"id": "q1", "prompt": "c"}',
    )
    error = problems_of(path)
    assert len(error.problems) == 1
    assert error.problems[0].line == 3
    assert "duplicate id 'q1' (also on line 1)" in str(error)
    assert "give every line its own id" in str(error)


def test_number_and_string_ids_that_read_the_same_are_duplicates(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "in.jsonl", '{"id": 7, "prompt": "a"}', '{"id": "7", "prompt": "b"}'
    )
    assert "duplicate id '7' (also on line 1)" in str(problems_of(path))


def test_a_hash_collision_between_different_ids_is_not_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batchgraph.io import duplicates

    monkeypatch.setattr(duplicates, "id_hash", lambda request_id: 42)
    path = write_lines(
        tmp_path / "in.jsonl", '{"id": "a", "prompt": "x"}', '{"id": "b", "prompt": "y"}'
    )
    summary = validate_input(path, ReadOptions(model="gpt-4o-mini"))
    assert summary.count == 2


def test_empty_prompt_is_reported(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", '{"id": "a", "prompt": "   "}')
    error = problems_of(path)
    assert error.problems[0].line == 1
    assert 'empty "prompt"' in error.problems[0].problem
    assert "write some text" in error.problems[0].fix


def test_unknown_parameter_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", '{"id": "a", "prompt": "hi", "top_q": 0.9}')
    problem = problems_of(path).problems[0]
    assert problem.line == 1
    assert problem.problem == 'unknown parameter "top_q"'
    assert problem.fix.startswith(
        "use only: id, prompt, messages, input, model, system, max_tokens, temperature, top_p,"
    )


@pytest.mark.parametrize(
    ("field", "value", "fix"),
    [
        ("max_tokens", -5, 'set "max_tokens" to a whole number of at least 1'),
        ("max_tokens", 2.5, 'set "max_tokens" to a whole number of at least 1'),
        ("temperature", "warm", 'make "temperature" a number such as 0.7'),
        ("temperature", 3, 'set "temperature" between 0 and 2'),
    ],
)
def test_wrong_value_type_or_range_is_reported(
    tmp_path: Path, field: str, value: object, fix: str
) -> None:
    line = json.dumps({"id": "a", "prompt": "hi", field: value})
    path = write_lines(tmp_path / "in.jsonl", '{"id": "ok", "prompt": "fine"}', line)
    problem = problems_of(path).problems[0]
    assert problem.line == 2
    assert problem.fix == fix


def test_no_model_anywhere_says_both_ways_to_give_one(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", '{"id": "a", "prompt": "hi"}')
    error = problems_of(path, ReadOptions())
    assert str(error.problems[0]) == ('line 1: no model — pass --model or add "model" to the line')


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", "", "  ")
    error = problems_of(path)
    assert str(error.problems[0]) == "line 1: the file holds no requests — add at least one line"


def test_a_missing_model_on_every_line_is_said_once(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "in.jsonl", *(f'{{"id": "r{n}", "prompt": "p"}}' for n in range(500))
    )
    error = problems_of(path, ReadOptions())
    assert [str(p) for p in error.problems] == [
        'all 500 lines: no model — pass --model or add "model" to the line'
    ]
    assert error.more == 0
    assert "500 bad lines" in str(error)
    assert "more bad lines" not in str(error)


def test_one_problem_many_lines_share_is_said_once_with_their_count(tmp_path: Path) -> None:
    lines = [f'{{"id": "r{n}", "prompt": "p"}}' for n in range(1, 11)]
    lines[3] = '{"id": "r4", "prompt": "p", "model": "m"}'
    error = problems_of(path := write_lines(tmp_path / "in.jsonl", *lines), ReadOptions())
    assert [str(p) for p in error.problems] == [
        'lines 1, 2, 3, 5, 6 and 4 more: no model — pass --model or add "model" to the line'
    ]
    assert "9 bad lines" in str(error)
    assert path.exists()


def test_every_bad_line_is_counted_but_only_twenty_are_listed(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "in.jsonl",
        *(f'{{"id": "r{n}", "prompt": "p", "x{n}": 1}}' for n in range(1, 31)),
    )
    error = problems_of(path)
    assert [p.line for p in error.problems] == list(range(1, 21))
    assert error.more == 10
    assert "30 bad lines" in str(error)
    assert "… and 10 more bad lines" in str(error)


def test_the_listed_problems_are_the_earliest_lines_even_when_found_late(tmp_path: Path) -> None:
    lines = [f'{{"id": "r{n}", "prompt": "p"}}' for n in range(1, 30)]
    lines[1] = '{"id": "r1", "prompt": "p"}'  # a duplicate on line 2, found in the second pass
    lines[2:25] = ['{"id": 1.5, "prompt": ""}'] * 23
    path = write_lines(tmp_path / "in.jsonl", *lines)
    error = problems_of(path, ReadOptions(model="m"))
    assert error.problems[0].line == 2
    assert "duplicate id 'r1'" in error.problems[0].problem


def test_provider_check_problems_are_reported_with_their_fix(tmp_path: Path) -> None:
    def no_long_prompts(request: Request) -> str | None:
        if len(request.messages[0]["content"]) > 5:
            return "prompt too long for this provider — shorten it to 5 characters"
        return None

    path = write_lines(
        tmp_path / "in.jsonl",
        '{"id": "a", "prompt": "hi"}',
        '{"id": "b", "prompt": "far too long"}',
    )
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m"), check=no_long_prompts)
    assert str(caught.value.problems[0]) == (
        "line 2: prompt too long for this provider — shorten it to 5 characters"
    )


def test_summary_counts_kinds_models_and_estimated_tokens(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "in.jsonl",
        '{"id": "a", "prompt": "12345678", "max_tokens": 10}',
        '{"id": "b", "prompt": "1234", "model": "gpt-4o"}',
        '{"id": "c", "input": "123456789", "model": "text-embedding-3-small"}',
    )
    summary = validate_input(path, ReadOptions(model="gpt-4o-mini"))
    assert summary.count == 3
    assert summary.kinds == {Kind.CHAT: 2, Kind.EMBEDDING: 1}
    assert set(summary.models) == {"gpt-4o-mini", "gpt-4o", "text-embedding-3-small"}
    assert summary.models["gpt-4o-mini"].input_tokens == 2
    assert summary.models["gpt-4o-mini"].max_output_tokens == 10
    assert summary.models["gpt-4o"].without_max_tokens == 1
    assert summary.models["text-embedding-3-small"].input_tokens == 3
    assert summary.input_tokens == 6


def test_missing_file_says_to_check_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such input file"):
        validate_input(tmp_path / "nope.jsonl", ReadOptions(model="m"))


def test_unknown_extension_names_the_known_ones(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.txt", '{"id": "a", "prompt": "hi"}')
    with pytest.raises(ConfigError, match=r"\.csv, \.json, \.jsonl"):
        validate_input(path, ReadOptions(model="m"))


def test_validated_requests_stop_at_the_first_bad_line_and_name_every_bad_line_at_the_end(
    tmp_path: Path,
) -> None:
    path = write_lines(
        tmp_path / "in.jsonl",
        '{"id": "a", "prompt": "one"}',
        '{"id": "b", "prompt": ""}',
        '{"id": "c", "prompt": "three"}',
        '{"id": "a", "prompt": "four"}',
    )
    seen: list[str] = []
    with pytest.raises(InputError) as caught:
        for request in validated_requests(path, ReadOptions(model="gpt-4o-mini")):
            seen.append(request.id)
    assert seen == ["a"]
    assert [p.line for p in caught.value.problems] == [2, 4]


def test_validated_requests_of_a_good_file_are_its_requests_in_order(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "in.jsonl", '{"id": "x", "prompt": "one"}', '{"id": "y", "prompt": "two"}'
    )
    requests = list(validated_requests(path, ReadOptions(model="gpt-4o-mini")))
    assert [(r.id, r.line) for r in requests] == [("x", 1), ("y", 2)]
