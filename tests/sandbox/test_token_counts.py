"""The sandbox counts input as the providers do: what the request adds around its text too
(Anthropic's forced schema tool and its tool-use prompt, OpenAI's per-message tokens), and
Anthropic's token-counting endpoint gives what the same request's batch result reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic import Anthropic
from anthropic_support import MODEL, FakeClock, result_lines, retrieve_raw, stop_the_clock

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle
from batchgraph.sandbox.tokens import (
    ANTHROPIC_TOOL_PROMPT,
    OPENAI_PER_MESSAGE,
    OPENAI_REPLY_PRIMING,
    anthropic_tokens,
    approximate,
    openai_chat_tokens,
    openai_count,
)

VERDICT = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
TOOL = {"name": "verdict", "description": "Record the verdict.", "input_schema": VERDICT}
QUESTION = [{"role": "user", "content": "Is this review happy? I love this blender."}]


@pytest.fixture
def client(batchgraph_sandbox: SandboxHandle) -> Iterator[Anthropic]:
    sdk = Anthropic(api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("anthropic"))
    yield sdk
    sdk.close()


def test_a_forced_schema_tool_adds_its_definition_and_the_tool_use_prompt() -> None:
    plain = {"model": MODEL, "messages": QUESTION}
    forced = {**plain, "tools": [TOOL], "tool_choice": {"type": "tool", "name": "verdict"}}

    added = anthropic_tokens(forced) - anthropic_tokens(plain)

    definition = approximate(json.dumps([TOOL], separators=(",", ":")))
    assert added == definition + ANTHROPIC_TOOL_PROMPT["forced"] == definition + 313


def test_openai_counts_each_message_the_schema_and_the_reply_priming() -> None:
    messages = [{"role": "system", "content": "Be brief."}, *QUESTION]
    schema = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": VERDICT}}
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": messages}

    count = openai_count("gpt-4o-mini")
    text = count("Be brief.") + count(QUESTION[0]["content"])
    overhead = 2 * OPENAI_PER_MESSAGE + OPENAI_REPLY_PRIMING
    assert openai_chat_tokens(body) == text + overhead
    with_schema = openai_chat_tokens({**body, "response_format": schema})
    assert with_schema == text + overhead + count(
        json.dumps(schema["json_schema"], separators=(",", ":"))
    )


def test_count_tokens_answers_what_the_batch_result_reports(
    client: Anthropic, batchgraph_sandbox: SandboxHandle
) -> None:
    clock: FakeClock = stop_the_clock(batchgraph_sandbox)
    params: dict[str, Any] = {
        "model": MODEL,
        "system": "You label reviews.",
        "messages": QUESTION,
        "tools": [TOOL],
        "tool_choice": {"type": "tool", "name": "verdict"},
    }
    counted = client.messages.count_tokens(**params)
    batch = client.messages.batches.create(
        requests=[{"custom_id": "r1", "params": {**params, "max_tokens": 100}}]  # type: ignore[list-item]
    )
    clock.now += 200
    (line,) = result_lines(batchgraph_sandbox, retrieve_raw(client, batch.id)["results_url"])

    usage = line["result"]["message"]["usage"]
    reported = (
        usage["input_tokens"]
        + usage["cache_creation_input_tokens"]
        + usage["cache_read_input_tokens"]
    )
    assert counted.input_tokens == reported == anthropic_tokens(params)
    assert counted.input_tokens > ANTHROPIC_TOOL_PROMPT["forced"]


def test_count_tokens_refuses_a_body_without_messages(client: Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="messages"):
        client.messages.count_tokens(model=MODEL, messages=[])
