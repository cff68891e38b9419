"""Anthropic's wire translation: requests out, result lines in (no network)."""

from __future__ import annotations

import json

from batchgraph.model import Kind, Outcome, OutputSchema, Request
from batchgraph.providers.anthropic import AnthropicProvider
from batchgraph.providers.anthropic_wire import (
    DEFAULT_MAX_TOKENS,
    check_request,
    message_params,
    parse_result_line,
    request_item,
    split_custom_id,
    wire_custom_id,
)
from batchgraph.providers.base import BatchTag, WireItem
from batchgraph.providers.settings import ProviderSettings

TAG = BatchTag("j42", 3, 1)


def chat(**fields: object) -> Request:
    base: dict[str, object] = {
        "id": "r1",
        "line": 7,
        "model": "claude-haiku-4-5",
        "messages": ({"role": "user", "content": "hi"},),
    }
    base.update(fields)
    return Request(**base)  # type: ignore[arg-type]


def test_embedding_request_is_refused_naming_providers_that_have_embeddings() -> None:
    message = check_request(chat(kind=Kind.EMBEDDING, messages=(), input="text"))
    assert message is not None
    assert "openai" in message and "mistral" in message


def test_values_anthropic_rejects_are_flagged_with_the_allowed_range() -> None:
    assert "0 to 1" in str(check_request(chat(temperature=1.5)))
    assert "at least 1" in str(check_request(chat(max_tokens=0)))
    assert "role" in str(check_request(chat(messages=({"role": "tool", "content": "x"},))))
    assert check_request(chat(messages=({"role": "system", "content": "be brief"},))) is not None
    assistant_first = ({"role": "assistant", "content": "hi"}, {"role": "user", "content": "?"})
    assert "user first" in str(check_request(chat(messages=assistant_first)))
    assert check_request(chat(temperature=1.0, max_tokens=1)) is None


def test_array_output_schema_is_flagged_because_tool_input_must_be_an_object() -> None:
    schema = OutputSchema("items", {"type": "array", "items": {"type": "string"}})
    assert "object" in str(check_request(chat(output_schema=schema)))


def test_max_tokens_defaults_because_anthropic_requires_it() -> None:
    assert message_params(chat())["max_tokens"] == DEFAULT_MAX_TOKENS
    assert message_params(chat(max_tokens=5))["max_tokens"] == 5


def test_system_role_messages_move_into_the_system_field() -> None:
    request = chat(
        system="You are terse.",
        messages=(
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "hi"},
        ),
        temperature=0.2,
    )
    params = message_params(request)
    assert params["system"] == "You are terse.\n\nAnswer in French."
    assert params["messages"] == [{"role": "user", "content": "hi"}]
    assert params["temperature"] == 0.2


def test_output_schema_becomes_a_forced_tool_call() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    params = message_params(chat(output_schema=OutputSchema("my answer", schema)))
    assert params["tools"][0]["name"] == "my_answer"
    assert params["tools"][0]["input_schema"] == schema
    assert params["tool_choice"] == {"type": "tool", "name": "my_answer"}


def test_tag_travels_in_the_custom_id_and_comes_back_off() -> None:
    item = request_item(WireItem("17", chat()), TAG)
    assert item["custom_id"] == "bgj42c3a1-17"
    assert split_custom_id(item["custom_id"]) == (TAG, "17")
    assert split_custom_id("someone-elses") == (None, "someone-elses")
    assert split_custom_id(wire_custom_id(TAG, "a-b")) == (TAG, "a-b")


def test_wire_size_covers_the_item_with_its_tag_prefix() -> None:
    provider_item = WireItem("17", chat(messages=({"role": "user", "content": "é" * 100},)))
    tagged = request_item(provider_item, BatchTag("j" * 30, 999, 99))
    encoded = json.dumps(tagged, ensure_ascii=False, separators=(",", ":")).encode()
    provider = AnthropicProvider(ProviderSettings("anthropic", "key", "http://127.0.0.1:9"))
    size = provider.wire_size(provider_item)
    assert size >= len(encoded) + 1


def test_succeeded_line_gives_text_usage_with_cache_reads_and_our_custom_id() -> None:
    line = {
        "custom_id": "bgj42c3a1-5",
        "result": {
            "type": "succeeded",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-haiku-4-5",
                "content": [{"type": "text", "text": "4"}, {"type": "text", "text": "!"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 30},
            },
        },
    }
    result = parse_result_line(line, "msgbatch_1")
    assert (result.custom_id, result.outcome, result.text) == ("5", Outcome.SUCCEEDED, "4!")
    assert result.stop_reason == "end_turn"
    assert result.model == "claude-haiku-4-5"
    assert (result.usage.input_tokens, result.usage.cached_tokens) == (40, 30)
    assert result.usage.output_tokens == 2


def test_tool_use_answer_is_parsed_and_its_json_is_the_text() -> None:
    content = [{"type": "tool_use", "id": "t", "name": "a", "input": {"n": 4}}]
    message = {"content": content, "stop_reason": "tool_use", "usage": {}}
    line = {"custom_id": "bgj42c3a1-5", "result": {"type": "succeeded", "message": message}}
    result = parse_result_line(line, "b")
    assert result.parsed == {"n": 4}
    assert json.loads(str(result.text)) == {"n": 4}


def test_errored_line_keeps_the_provider_error_and_says_if_retrying_may_help() -> None:
    def errored(kind: str) -> dict[str, object]:
        body = {"type": "error", "error": {"type": kind, "message": "boom"}, "request_id": None}
        return {"custom_id": "bgj42c3a1-9", "result": {"type": "errored", "error": body}}

    overloaded = parse_result_line(errored("overloaded_error"), "b")
    invalid = parse_result_line(errored("invalid_request_error"), "b")
    assert overloaded.outcome is Outcome.FAILED and overloaded.error is not None
    assert (overloaded.error.code, overloaded.error.message) == ("overloaded_error", "boom")
    assert overloaded.error.retryable
    assert overloaded.error.raw["error"]["type"] == "overloaded_error"
    assert invalid.error is not None and not invalid.error.retryable


def test_expired_and_canceled_lines_map_to_their_outcomes() -> None:
    expired = parse_result_line({"custom_id": "bgj1c0a0-1", "result": {"type": "expired"}}, "b")
    canceled = parse_result_line({"custom_id": "bgj1c0a0-2", "result": {"type": "canceled"}}, "b")
    assert expired.outcome is Outcome.EXPIRED
    assert canceled.outcome is Outcome.CANCELLED
