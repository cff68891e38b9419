"""The OpenAI adapter against the sandbox: what it sends, what it reads back, how it fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from openai import OpenAI
from provider_helpers import FakeClock, chat, provider_on, wait_done

from batchgraph.errors import ProviderCallError
from batchgraph.model import Kind, Outcome, OutputSchema, Request
from batchgraph.providers import open_provider, openai_wire
from batchgraph.providers.base import BatchState, BatchTag, WireItem, account_for
from batchgraph.providers.openai import OpenAIProvider, batch_status
from batchgraph.providers.settings import SANDBOX_API_KEY, ProviderSettings
from batchgraph.sandbox import SandboxConfig, SandboxHandle, read_creations
from batchgraph.store.rows import request_to_text

TAG = BatchTag("job1", 0, 0)
SCHEMA = OutputSchema(
    "city info",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    },
)


def items(*requests: Request) -> list[WireItem]:
    return [WireItem(f"c{i}", r) for i, r in enumerate(requests)]


def sdk(sandbox: SandboxHandle) -> OpenAI:
    return OpenAI(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url("openai"))


def input_lines(sandbox: SandboxHandle, batch_id: str) -> list[dict[str, object]]:
    client = sdk(sandbox)
    batch = client.batches.retrieve(batch_id)
    return [json.loads(x) for x in client.files.content(batch.input_file_id).text.splitlines()]


def test_chat_batch_round_trip_gives_answers_with_usage(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "openai")
    batch_id = provider.create_batch(items(chat("a"), chat("b", "hello")), TAG)
    status = wait_done(provider, batch_id)
    assert (status.state, status.raw_status) == (BatchState.COMPLETED, "completed")
    assert (status.total, status.succeeded, status.failed) == (2, 2, 0)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    assert set(results) == {"c0", "c1"}
    for result in results.values():
        assert result.outcome is Outcome.SUCCEEDED and result.text
        assert result.model == "gpt-4o-mini" and result.stop_reason == "stop"
        assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
        assert result.parsed is None


def test_request_goes_out_as_an_openai_batch_line(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "openai")
    request = Request(
        id="r",
        line=1,
        model="gpt-4o-mini",
        system="Be brief.",
        messages=({"role": "user", "content": "Hi"},),
        max_tokens=20,
        temperature=0.5,
        output_schema=SCHEMA,
    )
    item = WireItem("c7", request)
    batch_id = provider.create_batch([item], TAG)
    (line,) = input_lines(batchgraph_sandbox, batch_id)
    assert line == {
        "custom_id": "c7",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
            ],
            "max_tokens": 20,
            "temperature": 0.5,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "city_info", "schema": SCHEMA.schema, "strict": True},
            },
        },
    }
    assert provider.wire_size(item) == len(json.dumps(line, separators=(",", ":"))) + 1
    metadata = sdk(batchgraph_sandbox).batches.retrieve(batch_id).metadata
    assert metadata == {"batchgraph_tag": "bgjob1c0a0", "batchgraph_schema": "all"}


def test_schema_answers_are_parsed_only_for_requests_that_asked(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "openai")
    with_schema = Request(
        id="s",
        line=1,
        model="gpt-4o-mini",
        messages=({"role": "user", "content": "x"},),
        output_schema=SCHEMA,
    )
    batch_id = provider.create_batch(items(with_schema, chat("plain")), TAG)
    wait_done(provider, batch_id)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    jsonschema.validate(results["c0"].parsed, SCHEMA.schema)
    assert results["c1"].parsed is None and results["c1"].text


def test_embedding_requests_give_vectors(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "openai")
    embed = Request(id="e", line=1, model="text-embedding-3-small", kind=Kind.EMBEDDING, input="hi")
    batch_id = provider.create_batch(items(embed), TAG)
    wait_done(provider, batch_id)
    (result,) = provider.results(batch_id)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.embedding is not None and len(result.embedding) == 1536  # the real size
    assert result.usage.input_tokens == 1


def test_mixing_chat_and_embeddings_in_one_batch_is_refused(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "openai")
    embed = Request(id="e", line=1, model="gpt-4o-mini", kind=Kind.EMBEDDING, input="hi")
    with pytest.raises(ProviderCallError, match="one endpoint"):
        provider.create_batch(items(chat("a"), embed), TAG)


def test_injected_failures_become_retryable_provider_errors(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(fail_ids="^c1$")
    provider = provider_on(batchgraph_sandbox, "openai")
    batch_id = provider.create_batch(items(chat("a"), chat("b")), TAG)
    status = wait_done(provider, batch_id)
    assert (status.succeeded, status.failed) == (1, 1)
    failed = next(r for r in provider.results(batch_id) if r.custom_id == "c1")
    assert failed.outcome is Outcome.FAILED and failed.error is not None
    assert failed.error.code == "server_error" and failed.error.retryable
    assert failed.error.raw["response"]["status_code"] == 500


def test_expired_batch_keeps_finished_results_and_marks_the_rest_expired(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(time_scale=86400 * 50, processing_seconds=60, expire_fraction=0.5)
    provider = provider_on(batchgraph_sandbox, "openai")
    wire = items(*(chat(str(i)) for i in range(60)))
    batch_id = provider.create_batch(wire, TAG)
    assert wait_done(provider, batch_id).state is BatchState.EXPIRED
    results = list(account_for(provider.results(batch_id), [w.custom_id for w in wire], batch_id))
    outcomes = [r.outcome for r in results]
    assert len(results) == 60 and set(outcomes) == {Outcome.SUCCEEDED, Outcome.EXPIRED}
    expired = next(r for r in results if r.outcome is Outcome.EXPIRED)
    assert expired.error is not None and expired.error.code == "batch_expired"
    assert expired.error.retryable


def test_cancel_stops_the_batch_and_reports_cancelled_requests(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = provider_on(batchgraph_sandbox, "openai")
    batch_id = provider.create_batch(items(*(chat(str(i)) for i in range(40))), TAG)
    clock.now += 50
    provider.cancel(batch_id)
    assert provider.status(batch_id).state is BatchState.CANCELLING
    clock.now += 10
    assert provider.status(batch_id).state is BatchState.CANCELLED
    outcomes = {r.outcome for r in provider.results(batch_id)}
    assert outcomes == {Outcome.SUCCEEDED, Outcome.CANCELLED}
    provider.cancel(batch_id)  # already over: nothing to stop, no error


def test_find_batch_finds_the_tagged_batch_after_a_crash(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    before = datetime.now(UTC)
    first = provider_on(batchgraph_sandbox, "openai")
    lost = first.create_batch(items(chat("a")), TAG)
    first.create_batch(items(chat("b")), BatchTag("job1", 1, 0))
    restarted = provider_on(batchgraph_sandbox, "openai")
    assert restarted.find_batch(TAG, before) == lost
    assert restarted.find_batch(BatchTag("job1", 0, 1), before) is None
    assert restarted.find_batch(TAG, before + timedelta(hours=1)) is None


def test_create_is_sent_once_even_when_the_server_fails(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(server_error_rate=1.0)
    provider = provider_on(batchgraph_sandbox, "openai")
    # Faults never hit two calls in a row: the upload is retried and gets through, then the
    # create call is hit and must not be retried.
    with pytest.raises(ProviderCallError, match="HTTP 500"):
        provider.create_batch(items(chat("a")), TAG)
    assert batchgraph_sandbox.creations("openai") == []


def test_reads_ride_out_rate_limits_and_server_blips(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "openai")
    batch_id = provider.create_batch(items(chat("a"), chat("b")), TAG)
    batchgraph_sandbox.configure(rate_limit_every=2, rate_limit_retry_after=0.01)
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    assert len(list(provider.results(batch_id))) == 2
    batchgraph_sandbox.configure(rate_limit_every=0, server_error_rate=1.0)
    assert provider.status(batch_id).succeeded == 2
    assert len(list(provider.results(batch_id))) == 2


def test_unreachable_server_is_a_call_error_naming_the_fix() -> None:
    settings = ProviderSettings("openai", SANDBOX_API_KEY, "http://127.0.0.1:9/v1")
    provider = OpenAIProvider(settings)
    provider._client = provider._client.with_options(max_retries=0)
    with pytest.raises(ProviderCallError, match="check the network and base URL"):
        provider.status("batch_x")


def test_validation_failure_maps_to_failed_with_line_errors(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    client = sdk(batchgraph_sandbox)
    uploaded = client.files.create(file=("x.jsonl", b"{oops\n"), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    status = batch_status(client.batches.retrieve(batch.id))
    assert status.state is BatchState.FAILED and status.done
    assert status.errors[0].startswith("line 1: invalid_json_line")


def test_check_request_names_the_fix() -> None:
    hot = Request(
        id="r", line=1, model="m", messages=({"role": "user", "content": "x"},), temperature=3.0
    )
    assert "temperature" in (OpenAIProvider.check_request(hot) or "")
    assert OpenAIProvider.check_request(chat("a")) is None


def test_sandbox_provider_name_runs_on_an_embedded_sandbox_with_its_saved_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "sandbox.json").write_text(json.dumps(SandboxConfig.instant().to_json()))
    provider = open_provider("sandbox-openai", sandbox_dir=tmp_path)
    batch_id = provider.create_batch(items(chat("a")), TAG)
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    assert [c.batch_id for c in read_creations(tmp_path, "openai")] == [batch_id]


@pytest.mark.parametrize(
    "request_",
    [
        Request("a", 1, "gpt-4o-mini", messages=({"role": "user", "content": "hi ü"},)),
        Request(
            'q",\\"',
            9,
            'm",',
            temperature=1.5,
            messages=({"role": "user", "content": '\\",\\"system\\": ,"max_tokens":3 ",\n'},),
        ),
        Request("t", 5, "gpt-4o-mini", messages=({"role": "user", "content": "x"},), max_tokens=9),
        Request(
            "b",
            2,
            "gpt-4o-mini",
            messages=({"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}),
            system="be brief",
            max_tokens=7,
            temperature=0.0,
        ),
        Request(
            "c",
            3,
            "gpt-4o",
            messages=({"role": "user", "content": "json"},),
            output_schema=OutputSchema("an swer", {"type": "object"}),
        ),
        Request("d", 4, "text-embedding-3-small", kind=Kind.EMBEDDING, input="x"),
    ],
)
def test_lines_written_from_stored_json_are_the_lines_of_the_request(request_: Request) -> None:
    stored = request_to_text(request_)

    from_stored = openai_wire.encode_item(WireItem("7_2", stored=stored))

    assert from_stored.data == openai_wire.input_line(WireItem("7_2", request_))
    assert from_stored.url == openai_wire.endpoint(request_)
    assert from_stored.wants_schema is (request_.output_schema is not None)
