"""The sandbox's synchronous endpoints, called with the official SDKs' synchronous clients: the
same answers as a batch gives, OpenRouter's limits and error bodies, latency and faults."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest
from mistralai.client import Mistral

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle
from batchgraph.sandbox.anthropic_results import answer_params
from batchgraph.sandbox.responder import answer, embedding
from batchgraph.sandbox.tokens import openai_chat_tokens


def openai_client(sandbox: SandboxHandle, provider: str = "openai") -> openai.OpenAI:
    return openai.OpenAI(
        api_key=SANDBOX_API_KEY, base_url=sandbox.base_url(provider), max_retries=0
    )


def test_openai_chat_completion_gives_the_batch_answer(batchgraph_sandbox: SandboxHandle) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Is the sky blue?"}]}
    with openai_client(batchgraph_sandbox) as client:
        completion = client.chat.completions.create(**body, max_completion_tokens=50)  # type: ignore[call-overload]
    expected = answer("user: Is the sky blue?", max_tokens=50)
    assert completion.choices[0].message.content == expected.text
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == openai_chat_tokens(body)
    assert completion.usage.completion_tokens == expected.output_tokens
    calls = batchgraph_sandbox.sync_calls("openai")
    assert [(c.path, c.model, c.status) for c in calls] == [
        ("/openai/v1/chat/completions", "gpt-4o-mini", 200)
    ]


def test_openai_structured_output_follows_the_schema(batchgraph_sandbox: SandboxHandle) -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": ["good", "bad"]}},
        "required": ["label"],
        "additionalProperties": False,
    }
    with openai_client(batchgraph_sandbox) as client:
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Great product"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "labels", "schema": schema, "strict": True},
            },
        )
    content = completion.choices[0].message.content
    assert content is not None and '"label"' in content


def test_openai_embeddings_give_the_batch_vector(batchgraph_sandbox: SandboxHandle) -> None:
    with openai_client(batchgraph_sandbox) as client:
        result = client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert result.data[0].embedding == pytest.approx(embedding("hello", dimensions=1536), abs=1e-6)


def test_openai_refuses_a_body_without_messages(batchgraph_sandbox: SandboxHandle) -> None:
    with openai_client(batchgraph_sandbox) as client, pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert err.value.status_code == 400
    assert batchgraph_sandbox.sync_calls()[-1].status == 400


def test_anthropic_message_gives_the_batch_answer(batchgraph_sandbox: SandboxHandle) -> None:
    params = {
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Summarise: batches are cheap"}],
    }
    with anthropic.Anthropic(
        api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("anthropic"), max_retries=0
    ) as client:
        message = client.messages.create(**params)  # type: ignore[call-overload]
    expected = answer_params(params, "x", "")["message"]
    assert message.content[0].type == "text"
    assert message.content[0].text == expected["content"][0]["text"]
    assert message.usage.output_tokens == expected["usage"]["output_tokens"]
    assert message.stop_reason == "end_turn"


def test_anthropic_refuses_an_assistant_first_conversation(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    with (
        anthropic.Anthropic(
            api_key=SANDBOX_API_KEY,
            base_url=batchgraph_sandbox.base_url("anthropic"),
            max_retries=0,
        ) as client,
        pytest.raises(anthropic.BadRequestError) as err,
    ):
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=[{"role": "assistant", "content": "hi"}],
        )
    assert "user" in str(err.value)


def test_mistral_chat_and_embeddings_give_the_batch_answers(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    with Mistral(api_key=SANDBOX_API_KEY, server_url=batchgraph_sandbox.base_url("mistral")) as m:
        chat = m.chat.complete(
            model="mistral-small-latest", messages=[{"role": "user", "content": "Hello there"}]
        )
        vectors = m.embeddings.create(model="mistral-embed", inputs=["hello"])
    assert chat.choices[0].message.content == answer("Hello there").text
    assert vectors.data[0].embedding == pytest.approx(embedding("hello", dimensions=1024), abs=1e-6)


def test_openrouter_answers_in_the_openai_shape_with_its_touches(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    with openai_client(batchgraph_sandbox, "openrouter") as client:
        completion = client.chat.completions.create(
            model="meta-llama/llama-3.3-70b-instruct:free",
            messages=[{"role": "user", "content": "Hello"}],
        )
    assert completion.id.startswith("gen-")
    assert completion.choices[0].message.content == answer("user: Hello").text
    assert batchgraph_sandbox.base_url("openrouter").endswith("/openrouter/api/v1")


def test_openrouter_per_minute_limit_answers_429_with_its_error_body(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(openrouter_per_minute=2, openrouter_minute=3600.0)
    url = batchgraph_sandbox.base_url("openrouter") + "/chat/completions"
    body = {"model": "x/y:free", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    statuses = [httpx.post(url, json=body, headers=headers) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[2]
    assert refused.json()["error"]["code"] == 429
    assert "free-models-per-min" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining"] == "0"
    paid = httpx.post(url, json={**body, "model": "x/y"}, headers=headers)
    assert paid.status_code == 200, "the limits apply to :free models only"


def test_openrouter_daily_quota_is_reached_and_lifts_the_next_day(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(openrouter_per_day=1, openrouter_day=3600.0)
    with openai_client(batchgraph_sandbox, "openrouter") as client:
        messages = [{"role": "user", "content": "hi"}]
        client.chat.completions.create(model="a/b:free", messages=messages)  # type: ignore[arg-type]
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model="a/b:free", messages=messages)  # type: ignore[arg-type]
        assert "free-models-per-day" in str(err.value)
        later = time.time() + 3600.0
        batchgraph_sandbox.ctx.now = lambda: later
        client.chat.completions.create(model="a/b:free", messages=messages)  # type: ignore[arg-type]


def test_injected_rate_limits_and_server_errors_reach_sync_calls(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    batchgraph_sandbox.configure(rate_limit_every=1, rate_limit_retry_after=2.0)
    with openai_client(batchgraph_sandbox) as client:
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
        assert err.value.response.headers["retry-after"] == "2"
        batchgraph_sandbox.configure(rate_limit_every=0, server_error_rate=1.0)
        # A fault never hits two calls in a row, so a client's own retry gets through.
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]


LOCAL_SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "x", "schema": {"type": "object"}},
}


def test_the_local_server_needs_no_key_and_answers_chat_embeddings_and_models(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    url = batchgraph_sandbox.base_url("local")
    body = {"model": "llama3.1:8b", "messages": [{"role": "user", "content": "Hello"}]}
    keyless = httpx.post(url + "/chat/completions", json=body)
    with openai.OpenAI(api_key="no-key", base_url=url, max_retries=0) as client:
        models = [model.id for model in client.models.list()]
        vectors = client.embeddings.create(model="nomic-embed-text", input="hello")
        schema = client.chat.completions.create(
            model="llama3.1:8b",
            messages=[{"role": "user", "content": "Hello"}],
            response_format=LOCAL_SCHEMA_FORMAT,
        )

    assert url.endswith("/local/v1")
    assert keyless.status_code == 200
    assert keyless.json()["choices"][0]["message"]["content"] == answer("user: Hello").text
    assert "llama3.1:8b" in models
    assert vectors.data[0].embedding
    assert schema.choices[0].message.content is not None
    assert schema.choices[0].message.content.startswith("{")


def test_the_local_server_refuses_schemas_as_vllm_and_llama_cpp_do(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    url = batchgraph_sandbox.base_url("local")
    messages = [{"role": "user", "content": "Hello"}]
    errors: dict[str, openai.APIStatusError] = {}
    with openai.OpenAI(api_key="no-key", base_url=url, max_retries=0) as client:
        for flavour in ("vllm", "llamacpp"):
            batchgraph_sandbox.configure(local_json_schema=flavour)
            with pytest.raises(openai.APIStatusError) as refused:
                client.chat.completions.create(
                    model="m",
                    messages=messages,
                    response_format=LOCAL_SCHEMA_FORMAT,
                )
            errors[flavour] = refused.value
        plain = client.chat.completions.create(model="m", messages=messages)

    vllm, llamacpp = errors["vllm"], errors["llamacpp"]
    assert vllm.status_code == 400 and isinstance(vllm.body, dict)
    assert vllm.body["object"] == "error" and vllm.body["type"] == "BadRequestError"
    assert "response_format" in vllm.body["message"] and vllm.body["code"] == 400
    assert llamacpp.status_code == 500 and isinstance(llamacpp.body, dict)
    assert llamacpp.body["type"] == "server_error"
    assert "but got: json_schema" in llamacpp.body["message"]
    assert plain.choices[0].message.content, "requests without a schema are answered"
