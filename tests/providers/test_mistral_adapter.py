"""The Mistral adapter against the sandbox: what it sends, what it reads back, how it fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from mistralai.client import Mistral
from mistralai.client.utils import BackoffStrategy, RetryConfig
from provider_helpers import FakeClock, provider_on, wait_done

from batchgraph.errors import ProviderCallError
from batchgraph.model import Kind, Outcome, OutputSchema, Request
from batchgraph.providers.base import BatchState, BatchTag, WireItem, account_for
from batchgraph.providers.mistral import MistralProvider
from batchgraph.providers.mistral_wire import jsonl_line, parse_result_line
from batchgraph.providers.settings import SANDBOX_API_KEY, ProviderSettings
from batchgraph.sandbox import SandboxHandle

MODEL = "mistral-small-latest"
TAG = BatchTag("job1", 0, 0)
SCHEMA = OutputSchema(
    "city_info",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    },
)
FAST_RETRIES = RetryConfig("backoff", BackoffStrategy(10, 50, 2, 20_000, jitter_ms=0), True)


def chat(request_id: str, text: str = "What is 2+2?", **extra: object) -> Request:
    return Request(
        id=request_id,
        line=1,
        model=MODEL,
        messages=({"role": "user", "content": text},),
        max_tokens=100,
        **extra,  # type: ignore[arg-type]
    )


def items(*requests: Request) -> list[WireItem]:
    return [WireItem(f"c{i}", r) for i, r in enumerate(requests)]


def mistral(sandbox: SandboxHandle, **kwargs: object) -> MistralProvider:
    settings = ProviderSettings("mistral", SANDBOX_API_KEY, sandbox.base_url("mistral"))
    return MistralProvider(settings, **kwargs)  # type: ignore[arg-type]


def sdk(sandbox: SandboxHandle) -> Mistral:
    return Mistral(api_key=SANDBOX_API_KEY, server_url=sandbox.base_url("mistral"))


def input_lines(sandbox: SandboxHandle, batch_id: str) -> list[dict[str, object]]:
    client = sdk(sandbox)
    job = client.batch.jobs.get(job_id=batch_id)
    content = client.files.download(file_id=job.input_files[0]).read()
    return [json.loads(line) for line in content.splitlines()]


def test_chat_batch_round_trip_gives_answers_with_usage(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "mistral")
    batch_id = provider.create_batch(items(chat("a"), chat("b", "hello")), TAG)
    status = wait_done(provider, batch_id)
    assert (status.state, status.raw_status) == (BatchState.COMPLETED, "SUCCESS")
    assert (status.total, status.succeeded, status.failed) == (2, 2, 0)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    assert set(results) == {"c0", "c1"}
    for result in results.values():
        assert result.outcome is Outcome.SUCCEEDED and result.text
        assert result.model == MODEL and result.stop_reason == "stop"
        assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
        assert result.parsed is None and result.batch_id == batch_id


def test_create_sends_one_jsonl_file_and_tags_the_job(batchgraph_sandbox: SandboxHandle) -> None:
    provider = mistral(batchgraph_sandbox)
    request = chat("a", "hi", temperature=0.2, system="Answer briefly.")
    batch_id = provider.create_batch(items(request), BatchTag("jobX", 3, 1))
    job = sdk(batchgraph_sandbox).batch.jobs.get(job_id=batch_id)
    assert job.metadata == {"batchgraph_tag": "bgjobXc3a1"}
    assert (job.model, job.endpoint) == (MODEL, "/v1/chat/completions")
    (line,) = input_lines(batchgraph_sandbox, batch_id)
    assert line == {
        "custom_id": "c0",
        "body": {
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "hi"},
            ],
            "max_tokens": 100,
            "temperature": 0.2,
        },
    }
    (creation,) = batchgraph_sandbox.creations("mistral")
    assert creation.batch_id == batch_id and creation.request_count == 1


def test_wire_size_is_the_bytes_of_the_jsonl_line(batchgraph_sandbox: SandboxHandle) -> None:
    item = WireItem("c0", chat("a", "héllo"))
    line = jsonl_line(item)
    assert mistral(batchgraph_sandbox).wire_size(item) == len(line)
    assert line.endswith(b"\n") and "héllo".encode() in line


def test_tag_round_trips_through_find_batch_after_a_lost_id(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    before = datetime.now(UTC)
    tag = BatchTag("job9", 1, 0)
    lost = mistral(batchgraph_sandbox).create_batch(items(chat("a")), tag)
    mistral(batchgraph_sandbox).create_batch(items(chat("b")), BatchTag("job9", 2, 0))
    restarted = mistral(batchgraph_sandbox)
    assert restarted.find_batch(tag, before) == lost
    assert restarted.find_batch(BatchTag("job9", 1, 1), before) is None
    assert restarted.find_batch(tag, datetime.now(UTC) + timedelta(hours=1)) is None
    naive = before.replace(tzinfo=None)
    assert restarted.find_batch(tag, naive) == lost


def test_find_batch_returns_the_newest_job_carrying_the_tag(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    before = datetime.fromtimestamp(clock.now, UTC)
    provider = mistral(batchgraph_sandbox)
    provider.create_batch(items(chat("a")), TAG)
    clock.now += 5
    newer = provider.create_batch(items(chat("a")), TAG)
    assert provider.find_batch(TAG, before) == newer


def test_schema_request_is_sent_as_json_schema_and_parsed(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = mistral(batchgraph_sandbox)
    batch_id = provider.create_batch(items(chat("a", output_schema=SCHEMA)), TAG)
    (line,) = input_lines(batchgraph_sandbox, batch_id)
    assert line["body"]["response_format"] == {  # type: ignore[index]
        "type": "json_schema",
        "json_schema": {"name": "city_info", "schema": SCHEMA.schema, "strict": True},
    }
    wait_done(provider, batch_id)
    (result,) = provider.results(batch_id)
    jsonschema.validate(result.parsed, SCHEMA.schema)
    assert json.loads(result.text or "") == result.parsed


def test_only_requests_that_asked_for_a_schema_are_parsed(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = mistral(batchgraph_sandbox)
    batch_id = provider.create_batch(items(chat("a", output_schema=SCHEMA), chat("b")), TAG)
    wait_done(provider, batch_id)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    assert isinstance(results["c0"].parsed, dict) and results["c1"].parsed is None


def test_embeddings_come_back_as_vectors(batchgraph_sandbox: SandboxHandle) -> None:
    provider = mistral(batchgraph_sandbox)
    request = Request(id="e", line=1, model="mistral-embed", kind=Kind.EMBEDDING, input="text")
    batch_id = provider.create_batch(items(request), TAG)
    (line,) = input_lines(batchgraph_sandbox, batch_id)
    assert line == {"custom_id": "c0", "body": {"input": "text"}}
    wait_done(provider, batch_id)
    (result,) = provider.results(batch_id)
    assert result.outcome is Outcome.SUCCEEDED and result.embedding and result.text is None


def test_injected_server_errors_are_failed_and_retryable(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(fail_ids="c1")
    provider = mistral(batchgraph_sandbox)
    batch_id = provider.create_batch(items(chat("a"), chat("b")), TAG)
    assert wait_done(provider, batch_id).failed == 1
    failed = {r.custom_id: r for r in provider.results(batch_id)}["c1"]
    assert failed.outcome is Outcome.FAILED and failed.error is not None
    assert failed.error.retryable and failed.error.code == "internal_server_error"
    assert failed.error.raw["response"]["status_code"] == 500


def test_refused_request_is_failed_with_mistrals_message_and_not_retryable(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = mistral(batchgraph_sandbox)
    batch_id = provider.create_batch(items(chat("a", temperature=3.0)), TAG)
    wait_done(provider, batch_id)
    (result,) = provider.results(batch_id)
    assert result.outcome is Outcome.FAILED and result.error is not None
    assert not result.error.retryable and result.error.code == "invalid_request_error"
    assert result.error.message == "body.temperature: Input should be less than or equal to 1.5"


def test_check_request_names_what_mistral_refuses_with_the_fix() -> None:
    assert "from 0.0 to 1.5" in (MistralProvider.check_request(chat("a", temperature=2)) or "")
    last_assistant = Request(
        id="x", line=3, model=MODEL, messages=({"role": "assistant", "content": "hi"},)
    )
    assert "end with a user message" in (MistralProvider.check_request(last_assistant) or "")
    robot = Request(id="x", line=3, model=MODEL, messages=({"role": "robot", "content": "x"},))
    assert "`system`" in (MistralProvider.check_request(robot) or "")
    empty = Request(id="x", line=1, model="mistral-embed", kind=Kind.EMBEDDING)
    assert "input" in (MistralProvider.check_request(empty) or "")
    assert MistralProvider.check_request(chat("ok", temperature=0.7)) is None


def test_status_follows_queued_running_success(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = mistral(batchgraph_sandbox)
    batch_id = provider.create_batch(items(*(chat(str(i)) for i in range(20))), TAG)
    queued = provider.status(batch_id)
    assert (queued.state, queued.raw_status, queued.total) == (BatchState.PENDING, "QUEUED", 0)
    clock.now += 50
    running = provider.status(batch_id)
    assert running.state is BatchState.RUNNING and running.total == 20
    clock.now += 60
    assert provider.status(batch_id).state is BatchState.COMPLETED


def test_cancel_stops_the_job_and_names_the_requests_it_never_ran(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = mistral(batchgraph_sandbox)
    wire = items(*(chat(str(i), f"q{i}") for i in range(40)))
    batch_id = provider.create_batch(wire, TAG)
    clock.now += 50
    provider.cancel(batch_id)
    cancelling = provider.status(batch_id)
    assert (cancelling.state, cancelling.raw_status) == (
        BatchState.CANCELLING,
        "CANCELLATION_REQUESTED",
    )
    clock.now += 10
    assert provider.status(batch_id).state is BatchState.CANCELLED
    results = list(account_for(provider.results(batch_id), [w.custom_id for w in wire], batch_id))
    outcomes = [r.outcome for r in results]
    assert len(results) == 40 and Outcome.MISSING not in outcomes
    assert 5 < outcomes.count(Outcome.SUCCEEDED) < 35
    assert outcomes.count(Outcome.SUCCEEDED) + outcomes.count(Outcome.CANCELLED) == 40
    provider.cancel(batch_id)  # cancelling an ended job is harmless


def test_timed_out_job_names_unrun_requests_expired(batchgraph_sandbox: SandboxHandle) -> None:
    batchgraph_sandbox.configure(time_scale=86400 * 50, processing_seconds=60, expire_fraction=0.5)
    provider = mistral(batchgraph_sandbox)
    wire = items(*(chat(str(i), f"q{i}") for i in range(40)))
    batch_id = provider.create_batch(wire, TAG)
    status = wait_done(provider, batch_id)
    assert (status.state, status.raw_status) == (BatchState.EXPIRED, "TIMEOUT_EXCEEDED")
    outcomes = [r.outcome for r in provider.results(batch_id)]
    assert len(outcomes) == 40
    assert outcomes.count(Outcome.SUCCEEDED) + outcomes.count(Outcome.EXPIRED) == 40


def test_create_is_sent_once_and_a_failure_says_to_look_the_tag_up(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(server_error_rate=1.0)
    provider = mistral(batchgraph_sandbox, read_retries=FAST_RETRIES)
    with pytest.raises(ProviderCallError) as caught:
        provider.create_batch(items(chat("a")), TAG)
    assert "HTTP 500" in str(caught.value) and caught.value.provider == "mistral"
    assert batchgraph_sandbox.creations("mistral") == []


def test_reads_ride_out_rate_limits_and_server_blips(batchgraph_sandbox: SandboxHandle) -> None:
    provider = mistral(batchgraph_sandbox, read_retries=FAST_RETRIES)
    batch_id = provider.create_batch(items(chat("a"), chat("b")), TAG)
    batchgraph_sandbox.configure(rate_limit_every=2, server_error_rate=0.3)
    for _ in range(5):
        assert provider.status(batch_id).state is BatchState.COMPLETED
    assert len(list(provider.results(batch_id))) == 2
    assert provider.find_batch(TAG, datetime.now(UTC) - timedelta(minutes=1)) == batch_id


def test_unknown_batch_is_a_provider_call_error_naming_it(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ProviderCallError) as caught:
        mistral(batchgraph_sandbox).status(unknown)
    assert caught.value.batch_id == unknown and "HTTP 404" in str(caught.value)


def test_unreachable_server_is_a_provider_call_error_with_the_fix() -> None:
    settings = ProviderSettings("mistral", "key", "http://127.0.0.1:9")
    quick = RetryConfig("backoff", BackoffStrategy(10, 20, 2, 100, jitter_ms=0), True)
    with pytest.raises(ProviderCallError) as caught:
        MistralProvider(settings, read_retries=quick).status("b1")
    assert "check the network and the base URL" in str(caught.value)


def test_a_chunk_mixing_models_is_refused_before_anything_is_sent(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    other = Request(id="z", line=7, model="mistral-large-latest", messages=chat("z").messages)
    with pytest.raises(ProviderCallError, match="line 7"):
        mistral(batchgraph_sandbox).create_batch(items(chat("a"), other), TAG)
    assert batchgraph_sandbox.creations("mistral") == []


def test_result_lines_are_classified_as_the_sdk_does() -> None:
    def parse(line: dict[str, object]) -> Outcome:
        result = parse_result_line(json.dumps(line), "b", False, lambda _: False)
        assert result is not None
        return result.outcome

    ok = {"status_code": 200, "body": {"choices": [{"message": {"content": "x"}}]}}
    assert parse({"custom_id": "a", "response": ok, "error": None}) is Outcome.SUCCEEDED
    assert parse({"custom_id": "a", "response": ok, "error": "boom"}) is Outcome.FAILED
    limited = {"status_code": 429, "body": {"message": "Requests rate limit exceeded"}}
    result = parse_result_line(
        json.dumps({"custom_id": "a", "response": limited, "error": None}), "b", False, bool
    )
    assert result is not None and result.error is not None
    assert result.error.retryable and result.error.message == "Requests rate limit exceeded"
    assert parse_result_line(json.dumps({"custom_id": None}), "b", False, bool) is None


def test_reasoning_content_chunks_are_joined_into_the_text() -> None:
    content = [{"type": "thinking", "thinking": []}, {"type": "text", "text": "Paris."}]
    body = {"choices": [{"message": {"content": content}, "finish_reason": "stop"}]}
    line = {"custom_id": "a", "response": {"status_code": 200, "body": body}, "error": None}
    result = parse_result_line(json.dumps(line), "b", False, lambda _: False)
    assert result is not None and result.text == "Paris."
