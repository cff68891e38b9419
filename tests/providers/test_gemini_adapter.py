"""The Gemini adapter against the sandbox: what it sends, what it reads back, how it fails."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from google import genai
from google.genai import types
from provider_helpers import FakeClock, provider_on, wait_done

from batchgraph.errors import ProviderCallError, ProviderUnavailable
from batchgraph.model import Kind, Outcome, OutputSchema, Request
from batchgraph.providers import gemini as gemini_adapter
from batchgraph.providers import gemini_wire, open_provider
from batchgraph.providers.base import BatchState, BatchTag, WireItem, account_for
from batchgraph.providers.gemini import GeminiProvider
from batchgraph.providers.settings import SANDBOX_API_KEY, ProviderSettings
from batchgraph.sandbox import SandboxConfig, SandboxHandle, read_creations
from batchgraph.store.rows import request_to_text

TAG = BatchTag("job1", 0, 0)
MODEL = "gemini-2.5-flash"
SCHEMA = OutputSchema(
    "city info",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    },
)


def ask(request_id: str, text: str = "What is 2+2?", **extra: object) -> Request:
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


def sdk(sandbox: SandboxHandle) -> genai.Client:
    options = types.HttpOptions(base_url=sandbox.base_url("gemini"), api_version="v1beta")
    return genai.Client(api_key=SANDBOX_API_KEY, http_options=options)


def input_lines(sandbox: SandboxHandle, batch_id: str) -> list[dict[str, object]]:
    """The batch's input file as the sandbox stored it (Gemini never lets uploads be read)."""
    store = sandbox.ctx.store
    record = store.get_batch("gemini", batch_id)
    assert record is not None
    text = store.file_path(record.spec["input_file_id"]).read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_chat_batch_round_trip_gives_answers_with_usage(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    batch_id = provider.create_batch(items(ask("a"), ask("b", "hello")), TAG)
    assert batch_id.startswith("batches/")
    status = wait_done(provider, batch_id)
    assert (status.state, status.raw_status) == (BatchState.COMPLETED, "JOB_STATE_SUCCEEDED")
    results = {r.custom_id: r for r in provider.results(batch_id)}
    assert set(results) == {"c0", "c1"}
    for result in results.values():
        assert result.outcome is Outcome.SUCCEEDED and result.text
        assert result.model == MODEL and result.stop_reason == "STOP"
        assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
        assert result.parsed is None


def test_request_goes_out_as_a_gemini_batch_line_keyed_with_the_tag(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    request = Request(
        id="r",
        line=1,
        model=MODEL,
        system="Be brief.",
        messages=(
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Population of Oslo?"},
        ),
        max_tokens=20,
        temperature=0.5,
        output_schema=SCHEMA,
    )
    item = WireItem("c7", request)
    batch_id = provider.create_batch([item], TAG)
    (line,) = input_lines(batchgraph_sandbox, batch_id)
    assert line == {
        "key": "bgjob1c0a0~json-c7",
        "request": {
            "contents": [
                {"role": "user", "parts": [{"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "Hello"}]},
                {"role": "user", "parts": [{"text": "Population of Oslo?"}]},
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {
                "maxOutputTokens": 20,
                "temperature": 0.5,
                "responseMimeType": "application/json",
                "responseJsonSchema": SCHEMA.schema,
            },
        },
    }
    assert provider.wire_size(item) >= len(json.dumps(line, separators=(",", ":"))) + 1
    client = sdk(batchgraph_sandbox)
    job = client.batches.get(name=batch_id)
    assert job.display_name == "bgjob1c0a0" and job.model == f"models/{MODEL}"


def test_schema_answers_are_parsed_only_for_requests_that_asked(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    batch_id = provider.create_batch(items(ask("s", output_schema=SCHEMA), ask("plain")), TAG)
    wait_done(provider, batch_id)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    jsonschema.validate(results["c0"].parsed, SCHEMA.schema)
    assert results["c1"].parsed is None and results["c1"].text


def test_embedding_requests_give_vectors(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    embed = Request(id="e", line=1, model="gemini-embedding-001", kind=Kind.EMBEDDING, input="hi")
    batch_id = provider.create_batch(items(embed, embed), TAG)
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    results = list(provider.results(batch_id))
    assert [r.outcome for r in results] == [Outcome.SUCCEEDED] * 2
    assert all(r.embedding is not None and len(r.embedding) == 256 for r in results)
    assert results[0].usage.input_tokens == 1


def test_mixing_models_or_kinds_in_one_batch_is_refused_before_anything_is_sent(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    embed = Request(id="e", line=4, model=MODEL, kind=Kind.EMBEDDING, input="hi")
    with pytest.raises(ProviderCallError, match=r"'e' \(line 4\).*plan chunks per model"):
        provider.create_batch(items(ask("a"), embed), TAG)
    other = Request(id="o", line=2, model="gemini-2.5-pro", messages=ask("x").messages)
    with pytest.raises(ProviderCallError, match="one model"):
        provider.create_batch(items(ask("a"), other), TAG)
    assert batchgraph_sandbox.ctx.store.count_files("gemini") == 0


def test_injected_failures_become_retryable_provider_errors(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(fail_ids="^c1$")
    provider = provider_on(batchgraph_sandbox, "gemini")
    batch_id = provider.create_batch(items(ask("a"), ask("b")), TAG)
    wait_done(provider, batch_id)
    failed = next(r for r in provider.results(batch_id) if r.custom_id == "c1")
    assert failed.outcome is Outcome.FAILED and failed.error is not None
    assert failed.error.code == "INTERNAL" and failed.error.retryable
    assert failed.error.raw["error"]["code"] == 500


def test_a_request_gemini_refuses_fails_alone_and_is_not_retried(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    # Validation would have refused it; sent all the same, the endpoint refuses it.
    cold = Request(id="t", line=1, model=MODEL, messages=ask("x").messages, temperature=9.0)
    batch_id = provider.create_batch(items(ask("a"), cold), TAG)
    wait_done(provider, batch_id)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    assert results["c0"].outcome is Outcome.SUCCEEDED
    refused = results["c1"]
    assert refused.outcome is Outcome.FAILED and refused.error is not None
    assert refused.error.code == "INVALID_ARGUMENT" and not refused.error.retryable
    assert "temperature" in refused.error.message


def test_lines_of_another_batch_are_never_taken_for_ours(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    """A responses file whose keys carry another tag than the batch's yields nothing."""
    batchgraph_sandbox.configure(processing_seconds=0.0)
    client = sdk(batchgraph_sandbox)
    foreign = gemini_wire.input_line("c0", ask("a"), BatchTag("job9", 0, 0))
    ours = gemini_wire.input_line("c1", ask("b"), TAG)
    uploaded = client.files.upload(
        file=io.BytesIO(foreign + ours), config=types.UploadFileConfig(mime_type="jsonl")
    )
    job = client.batches.create(
        model=MODEL, src=str(uploaded.name), config={"display_name": TAG.label()}
    )
    provider = provider_on(batchgraph_sandbox, "gemini")
    batch_id = str(job.name)
    wait_done(provider, batch_id)
    lines = list(provider.results(batch_id))
    assert sorted((r.custom_id, r.tag) for r in lines) == [
        ("c0", "bgjob9c0a0"),
        ("c1", TAG.label()),
    ]
    results = list(account_for(lines, ["c0", "c1"], batch_id, TAG))
    outcomes = {r.custom_id: r.outcome for r in results}
    assert outcomes == {"c0": Outcome.MISSING, "c1": Outcome.SUCCEEDED}


def test_expired_batch_keeps_finished_results_and_marks_the_rest_expired(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(time_scale=86400 * 50, processing_seconds=60, expire_fraction=0.5)
    provider = provider_on(batchgraph_sandbox, "gemini")
    wire = items(*(ask(str(i), f"q{i}") for i in range(60)))
    batch_id = provider.create_batch(wire, TAG)
    status = wait_done(provider, batch_id)
    assert (status.state, status.raw_status) == (BatchState.EXPIRED, "JOB_STATE_EXPIRED")
    results = list(account_for(provider.results(batch_id), [w.custom_id for w in wire], batch_id))
    outcomes = [r.outcome for r in results]
    assert len(results) == 60 and set(outcomes) == {Outcome.SUCCEEDED, Outcome.EXPIRED}
    expired = next(r for r in results if r.outcome is Outcome.EXPIRED)
    assert expired.error is None and expired.tag == TAG.label()  # read from a line of ours


def test_cancel_stops_the_batch_and_reports_cancelled_requests(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    batch_id = provider.create_batch(items(*(ask(str(i), f"q{i}") for i in range(40))), TAG)
    clock.now += 50
    provider.cancel(batch_id)
    assert provider.status(batch_id).state is BatchState.RUNNING  # Gemini has no cancelling
    clock.now += 10
    assert provider.status(batch_id).raw_status == "JOB_STATE_CANCELLED"
    outcomes = {r.outcome for r in provider.results(batch_id)}
    assert outcomes == {Outcome.SUCCEEDED, Outcome.CANCELLED}
    provider.cancel(batch_id)  # already over: nothing to stop, no error


def test_find_batch_finds_the_tagged_batch_after_a_crash(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    before = datetime.now(UTC)
    first = provider_on(batchgraph_sandbox, "gemini")
    lost = first.create_batch(items(ask("a")), TAG)
    first.create_batch(items(ask("b")), BatchTag("job1", 1, 0))
    restarted = provider_on(batchgraph_sandbox, "gemini")
    assert restarted.find_batch(TAG, before) == lost
    assert restarted.find_batch(BatchTag("job1", 0, 1), before) is None
    assert restarted.find_batch(TAG, before + timedelta(hours=1)) is None


def test_find_batch_reads_every_page_of_recent_batches(
    batchgraph_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = datetime.now(UTC)
    provider = provider_on(batchgraph_sandbox, "gemini")
    first = provider.create_batch(items(ask("a")), TAG)
    for chunk in range(1, 4):
        provider.create_batch(items(ask("b")), BatchTag("job1", chunk, 0))
    monkeypatch.setattr(gemini_adapter, "LIST_PAGE_SIZE", 2)
    assert provider.find_batch(TAG, before) == first


def test_create_is_sent_once_even_when_the_server_fails(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(server_error_rate=1.0)
    provider = provider_on(batchgraph_sandbox, "gemini")
    # Faults never hit two calls in a row: the upload's calls are retried and get through,
    # then the create call is hit and must not be retried.
    with pytest.raises(ProviderCallError, match=r"look it up by its tag.*HTTP 500 INTERNAL"):
        provider.create_batch(items(ask("a")), TAG)
    assert batchgraph_sandbox.creations("gemini") == []


def test_reads_ride_out_rate_limits_and_server_blips(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "gemini")
    batch_id = provider.create_batch(items(ask("a"), ask("b")), TAG)
    batchgraph_sandbox.configure(rate_limit_every=2, rate_limit_retry_after=0.01)
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    assert len(list(provider.results(batch_id))) == 2
    batchgraph_sandbox.configure(rate_limit_every=0, server_error_rate=1.0)
    assert provider.status(batch_id).done
    assert len(list(provider.results(batch_id))) == 2


def test_unreachable_server_is_a_call_error_naming_the_fix() -> None:
    settings = ProviderSettings("gemini", SANDBOX_API_KEY, "http://127.0.0.1:9")
    provider = GeminiProvider(settings, read_retries=types.HttpRetryOptions(attempts=1))
    with pytest.raises(ProviderUnavailable, match="check the network and the base URL"):
        provider.cancel("batches/x")
    with pytest.raises(ProviderUnavailable, match="could not list batches"):
        provider.check_access()


def test_access_check_passes_a_reachable_sandbox(batchgraph_sandbox: SandboxHandle) -> None:
    provider_on(batchgraph_sandbox, "gemini").check_access()


def test_check_request_names_the_fix() -> None:
    hot = Request(id="r", line=1, model=MODEL, messages=ask("x").messages, temperature=3.0)
    assert "temperature" in (GeminiProvider.check_request(hot) or "")
    tool = Request(id="r", line=1, model=MODEL, messages=({"role": "tool", "content": "x"},))
    assert "use user, assistant or system" in (GeminiProvider.check_request(tool) or "")
    alone = Request(id="r", line=1, model=MODEL, messages=({"role": "system", "content": "x"},))
    assert "user message" in (GeminiProvider.check_request(alone) or "")
    assert GeminiProvider.check_request(ask("a")) is None


def test_sandbox_provider_name_runs_on_an_embedded_sandbox_with_its_saved_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "sandbox.json").write_text(json.dumps(SandboxConfig.instant().to_json()))
    provider = open_provider("sandbox-gemini", sandbox_dir=tmp_path)
    batch_id = provider.create_batch(items(ask("a")), TAG)
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    assert [c.batch_id for c in read_creations(tmp_path, "gemini")] == [batch_id]


# -- sizes and result lines (no server) ----------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        Request("a", 1, MODEL, messages=({"role": "user", "content": ""},) * 40),
        Request("b", 2, MODEL, messages=({"role": "assistant", "content": "ü"},) * 9),
        Request(
            "c",
            3,
            "m",
            system="",
            messages=({"role": "system", "content": ""}, {"role": "user", "content": ""}),
            max_tokens=10**9,
            temperature=0.1,
            output_schema=OutputSchema("", {}),
        ),
        Request("e", 4, "gemini-embedding-001", kind=Kind.EMBEDDING, input=""),
        Request("f", 5, "gemini-embedding-001", kind=Kind.EMBEDDING),
    ],
)
def test_size_bound_from_stored_json_covers_the_real_line(request_: Request) -> None:
    stored = len(request_to_text(request_).encode())
    for custom_id in ("0", "123456789_12", "x" * 64):
        line = gemini_wire.input_line(custom_id, request_, BatchTag("a" * 32, 999, 99))
        measured = GeminiProvider.wire_size(WireItem(custom_id, request_))
        assert len(line) <= measured <= GeminiProvider.wire_size_bound(stored, len(custom_id))


def test_key_carries_tag_json_mark_and_our_id_even_with_dashes() -> None:
    key = gemini_wire.wire_key(TAG, "ok-1", wants_json=True)
    assert key == "bgjob1c0a0~json-ok-1"
    assert gemini_wire.split_key(key) == gemini_wire.Key("bgjob1c0a0", True, "ok-1")
    assert gemini_wire.split_key("plain-id") == gemini_wire.Key(None, False, "plain-id")


def test_thoughts_are_left_out_and_billed_as_output() -> None:
    line = {
        "key": "bgjob1c0a0-c1",
        "response": {
            "candidates": [
                {
                    "content": {"parts": [{"text": "hmm", "thought": True}, {"text": "4"}]},
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": 1,
                "thoughtsTokenCount": 30,
                "cachedContentTokenCount": 4,
            },
            "modelVersion": MODEL,
        },
    }
    result = gemini_wire.parse_result_line(json.dumps(line), "batches/b")
    assert result is not None
    assert result.tag == "bgjob1c0a0" and result.text == "4"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (10, 31)
    assert result.usage.cached_tokens == 4


def test_a_blocked_prompt_fails_without_retry() -> None:
    line = {"key": "bgjob1c0a0-c1", "response": {"promptFeedback": {"blockReason": "SAFETY"}}}
    result = gemini_wire.parse_result_line(json.dumps(line), "batches/b")
    assert result is not None
    assert result.outcome is Outcome.FAILED and result.error is not None
    assert result.error.code == "safety" and not result.error.retryable
    assert "prompt" in result.error.message
