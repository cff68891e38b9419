"""Plain JSONL and OpenAI batch JSONL lines become requests; line values override options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgraph.errors import InputError
from batchgraph.io import InputFormat, ReadOptions, read_requests, resolve_format, validate_input
from batchgraph.model import Kind, OutputSchema, Request


def jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_all(path: Path, options: ReadOptions) -> list[Request]:
    validate_input(path, options)
    return list(read_requests(path, options))


def test_a_prompt_becomes_one_user_message_with_the_option_defaults(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", {"id": "a", "prompt": "What is 2+2?"})
    options = ReadOptions(model="gpt-4o-mini", system="Be brief.", temperature=0.2, max_tokens=50)
    [request] = read_all(path, options)
    assert request == Request(
        id="a",
        line=1,
        model="gpt-4o-mini",
        messages=({"role": "user", "content": "What is 2+2?"},),
        system="Be brief.",
        max_tokens=50,
        temperature=0.2,
    )


def test_line_values_override_the_options(tmp_path: Path) -> None:
    line = {"id": "a", "prompt": "hi", "model": "gpt-4o", "system": "Pirate.", "max_tokens": 9}
    path = jsonl(tmp_path / "in.jsonl", line | {"temperature": 0})
    options = ReadOptions(model="gpt-4o-mini", system="Be brief.", temperature=1.0, max_tokens=50)
    [request] = read_all(path, options)
    assert (request.model, request.system, request.max_tokens, request.temperature) == (
        "gpt-4o",
        "Pirate.",
        9,
        0.0,
    )


def test_a_system_message_stays_in_place_and_the_system_option_steps_aside(
    tmp_path: Path,
) -> None:
    messages = [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Bonjour"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "How are "}, {"type": "text", "text": "you?"}],
        },
    ]
    path = jsonl(tmp_path / "in.jsonl", {"id": 3, "messages": messages})
    [request] = read_all(path, ReadOptions(model="m", system="Be brief."))
    assert request.id == "3"
    assert request.system is None
    assert request.messages == tuple(messages)


def test_an_input_without_a_prompt_is_an_embedding(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", {"id": "e1", "input": "embed me"})
    [request] = read_all(path, ReadOptions(model="text-embedding-3-small"))
    assert request.kind is Kind.EMBEDDING
    assert request.input == "embed me"
    assert request.messages == ()


def test_embedding_kind_embeds_the_prompt_of_plain_prompt_lines(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", {"id": "p1", "prompt": "embed this prompt"})
    [request] = read_all(path, ReadOptions(model="text-embedding-3-small", kind=Kind.EMBEDDING))
    assert (request.kind, request.input, request.messages) == (
        Kind.EMBEDDING,
        "embed this prompt",
        (),
    )


def test_embedding_kind_refuses_a_line_with_both_prompt_and_input(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", {"id": "p1", "prompt": "a", "input": "b"})
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m", kind=Kind.EMBEDDING))
    assert '"prompt" does not apply to embeddings' in str(caught.value)


def test_embedding_kind_refuses_chat_settings_on_a_line(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", {"id": "e1", "input": "x", "max_tokens": 5})
    with pytest.raises(InputError) as caught:
        validate_input(path, ReadOptions(model="m", kind=Kind.EMBEDDING))
    assert str(caught.value.problems[0]) == (
        'line 1: "max_tokens" does not apply to embeddings — remove "max_tokens"'
    )


def test_blank_lines_are_skipped_but_line_numbers_stay_true(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('\n{"id": "a", "prompt": "x"}\n\n{"id": "b", "prompt": "y"}\n')
    assert [r.line for r in read_all(path, ReadOptions(model="m"))] == [2, 4]


def test_requests_stream_in_input_order(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", *({"id": f"r{n}", "prompt": "p"} for n in range(50, 0, -1)))
    assert [r.id for r in read_all(path, ReadOptions(model="m"))] == [
        f"r{n}" for n in range(50, 0, -1)
    ]


def test_read_requests_refuses_a_bad_line_it_meets(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", {"id": "a", "prompt": "x"}, {"id": "b"})
    requests = read_requests(path, ReadOptions(model="m"))
    assert next(requests).id == "a"
    with pytest.raises(InputError, match='line 2: missing "prompt"'):
        next(requests)


OPENAI_LINE = {
    "custom_id": "req-1",
    "method": "POST",
    "url": "/v1/chat/completions",
    "body": {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is 2+2?"},
        ],
        "max_completion_tokens": 50,
        "temperature": 0.5,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "sum", "schema": {"type": "object"}, "strict": True},
        },
    },
}


def test_openai_batch_lines_are_recognised_from_the_first_line(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", OPENAI_LINE)
    assert resolve_format(path, ReadOptions()) is InputFormat.OPENAI_BATCH
    [request] = read_all(path, ReadOptions())
    body = OPENAI_LINE["body"]
    assert request == Request(
        id="req-1",
        line=1,
        model="gpt-4o-mini",
        messages=tuple(body["messages"]),  # type: ignore[index]
        temperature=0.5,
        output_schema=OutputSchema("sum", {"type": "object"}),
        params={
            "max_completion_tokens": 50,
            "response_format": body["response_format"],  # type: ignore[index]
        },
    )


def test_openai_batch_embedding_lines_become_embeddings(tmp_path: Path) -> None:
    line = {
        "custom_id": "e-1",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "text-embedding-3-small", "input": "embed me"},
    }
    [request] = read_all(jsonl(tmp_path / "in.jsonl", line), ReadOptions())
    assert (request.kind, request.input, request.model) == (
        Kind.EMBEDDING,
        "embed me",
        "text-embedding-3-small",
    )


def test_openai_batch_body_fields_are_kept_for_the_provider_to_judge(tmp_path: Path) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "x"}],
        "top_p": 1,
        "a_field_from_next_year": {"on": True},
    }
    [request] = read_all(jsonl(tmp_path / "in.jsonl", OPENAI_LINE | {"body": body}), ReadOptions())
    assert request.params == {"top_p": 1, "a_field_from_next_year": {"on": True}}


def test_openai_batch_responses_lines_keep_their_whole_body(tmp_path: Path) -> None:
    body = {"model": "gpt-4o", "input": "hi", "reasoning": {"effort": "low"}}
    line = OPENAI_LINE | {"url": "/v1/responses", "body": body}
    [request] = read_all(jsonl(tmp_path / "in.jsonl", line), ReadOptions())
    assert (request.kind, request.params) == (
        Kind.RESPONSE,
        {"input": "hi", "reasoning": body["reasoning"]},
    )


def test_openai_batch_unsupported_url_names_the_supported_ones(tmp_path: Path) -> None:
    line = OPENAI_LINE | {"url": "/v1/completions"}
    with pytest.raises(InputError) as caught:
        validate_input(jsonl(tmp_path / "in.jsonl", line), ReadOptions())
    assert str(caught.value.problems[0]) == (
        "line 1: \"url\" is '/v1/completions' — use one of /v1/chat/completions, "
        "/v1/embeddings, /v1/responses"
    )


def test_openai_batch_without_a_body_model_uses_the_option(tmp_path: Path) -> None:
    body = {"messages": [{"role": "user", "content": "x"}]}
    path = jsonl(tmp_path / "in.jsonl", OPENAI_LINE | {"body": body})
    [request] = read_all(path, ReadOptions(model="gpt-4.1-nano"))
    assert request.model == "gpt-4.1-nano"


def test_a_bad_message_is_reported_beside_other_problems_of_the_line(tmp_path: Path) -> None:
    line = {"id": "a", "messages": [{"role": "robot", "content": "x"}], "top_k": 3}
    with pytest.raises(InputError) as caught:
        validate_input(jsonl(tmp_path / "in.jsonl", line), ReadOptions(model="m"))
    problem = caught.value.problems[0].problem
    assert problem == "unknown parameter \"top_k\"; messages[0] has role 'robot'"
