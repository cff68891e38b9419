"""The Anthropic adapter against the sandbox: the tag in custom ids, finding a batch after a
crash, parsed answers, normalised errors, status mapping and cancel."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from provider_helpers import FakeClock, provider_on, wait_done

from batchgraph.errors import ProviderCallError
from batchgraph.model import Outcome, OutputSchema, Request
from batchgraph.providers.anthropic import AnthropicProvider
from batchgraph.providers.base import (
    Accounting,
    BatchState,
    BatchTag,
    Provider,
    WireItem,
    account_for,
)
from batchgraph.providers.settings import SANDBOX_API_KEY, ProviderSettings
from batchgraph.sandbox import SandboxHandle

MODEL = "claude-haiku-4-5"
TAG = BatchTag("job1", 0, 0)
DAY = 24 * 3600.0


def ask(request_id: str, text: str = "What is 2+2?", **extra: object) -> Request:
    fields: dict[str, object] = {"messages": ({"role": "user", "content": text},), **extra}
    return Request(id=request_id, line=1, model=MODEL, **fields)  # type: ignore[arg-type]


def wire(count: int) -> list[WireItem]:
    return [WireItem(str(i), ask(f"r{i}", f"question {i}")) for i in range(count)]


def at(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock.now, UTC)


def test_every_result_carries_its_tag_and_other_tags_are_not_accounted_for(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batch_id = provider.create_batch(wire(3), TAG)
    wait_done(provider, batch_id)
    assert {r.tag for r in provider.results(batch_id)} == {TAG.label()}
    accounting = Accounting(["0", "1", "2"], batch_id, BatchTag("job1", 0, 1))
    outcomes = [r.outcome for r in accounting.account(provider.results(batch_id))]
    assert outcomes == [Outcome.MISSING] * 3
    assert accounting.foreign == 3


def collect(provider: Provider, batch_id: str, expected: list[str]) -> dict[str, Outcome]:
    results = account_for(provider.results(batch_id), expected, batch_id)
    return {r.custom_id: r.outcome for r in results}


def test_tag_rides_in_the_custom_ids_and_comes_back_off(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batch_id = provider.create_batch(wire(3), TAG)
    [creation] = batchgraph_sandbox.creations("anthropic")
    assert creation.custom_ids == ["bgjob1c0a0-0", "bgjob1c0a0-1", "bgjob1c0a0-2"]
    status = wait_done(provider, batch_id)
    assert (status.state, status.raw_status) == (BatchState.COMPLETED, "ended")
    assert (status.total, status.succeeded, status.failed) == (3, 3, 0)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    assert set(results) == {"0", "1", "2"}
    for result in results.values():
        assert result.outcome is Outcome.SUCCEEDED and result.text
        assert result.model == MODEL and result.stop_reason in ("end_turn", "max_tokens")
        assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0


def test_running_batch_counts_every_request_as_processing(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batch_id = provider.create_batch(wire(5), TAG)
    clock.now += 50
    status = provider.status(batch_id)
    assert (status.state, status.raw_status) == (BatchState.RUNNING, "in_progress")
    assert (status.total, status.succeeded, status.failed) == (5, 0, 0)
    with pytest.raises(ProviderCallError, match="could not read the results"):
        list(provider.results(batch_id))


def test_running_batch_is_found_after_a_crash_between_create_and_save(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    intent = at(clock)
    batch_id = provider_on(batchgraph_sandbox, "anthropic").create_batch(wire(2), TAG)
    restarted = provider_on(batchgraph_sandbox, "anthropic")
    assert restarted.status(batch_id).state is BatchState.RUNNING
    assert restarted.find_batch(TAG, intent) == batch_id


def test_running_batch_from_a_slow_create_is_found_when_the_caller_looks_back_further(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    since = at(clock) - timedelta(minutes=10)  # the caller's own safety margin
    clock.now += 12 * 60  # a large body took twelve minutes to arrive
    batch_id = provider_on(batchgraph_sandbox, "anthropic").create_batch(wire(2), TAG)
    assert provider_on(batchgraph_sandbox, "anthropic").find_batch(TAG, since) == batch_id


def test_running_candidates_are_offered_earliest_first_and_proved_once_they_end(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    intent = at(clock)
    provider = provider_on(batchgraph_sandbox, "anthropic")
    assert not provider.finds_only_proven_batches
    theirs_first = provider.create_batch(wire(2), BatchTag("job3", 0, 0))
    clock.now += 1
    mine = provider.create_batch(wire(2), TAG)
    clock.now += 1
    theirs = provider.create_batch(wire(2), BatchTag("job2", 0, 0))
    assert provider.find_batch(TAG, intent) == theirs_first, "a candidate, not a proof"
    clock.now += 101
    assert provider.find_batch(TAG, intent) == mine
    assert provider.find_batch(BatchTag("job2", 0, 0), intent) == theirs
    assert provider.find_batch(BatchTag("job1", 0, 1), intent) is None


def test_batches_from_outside_the_create_window_are_not_taken_for_ours(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    batchgraph_sandbox.configure(processing_seconds=10 * 3600.0)
    provider = provider_on(batchgraph_sandbox, "anthropic")
    provider.create_batch(wire(2), BatchTag("old", 0, 0))
    clock.now += 3600
    intent = at(clock)
    assert provider.find_batch(TAG, intent) is None, "created an hour before the intent"
    clock.now += 3600
    provider.create_batch(wire(2), BatchTag("late", 0, 0))
    assert provider.find_batch(TAG, intent) is None, "created an hour after the intent"


def test_schema_answer_is_parsed_and_its_json_is_the_text(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    schema = OutputSchema(
        "city info",
        {
            "type": "object",
            "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
            "required": ["city", "population"],
        },
    )
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batch_id = provider.create_batch([WireItem("s", ask("s", output_schema=schema))], TAG)
    wait_done(provider, batch_id)
    [result] = provider.results(batch_id)
    assert result.outcome is Outcome.SUCCEEDED and result.stop_reason == "tool_use"
    assert isinstance(result.parsed, dict)
    assert set(result.parsed) >= {"city", "population"}
    assert json.loads(str(result.text)) == result.parsed


def test_request_errors_are_normalised_and_marked_retryable_only_when_it_may_help(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(fail_ids="boom")
    provider = provider_on(batchgraph_sandbox, "anthropic")
    assistant_first = ask("bad", messages=({"role": "assistant", "content": "hello"},))
    items = [
        WireItem("ok", ask("ok")),
        WireItem("boom", ask("b")),
        WireItem("bad", assistant_first),
    ]
    batch_id = provider.create_batch(items, TAG)
    status = wait_done(provider, batch_id)
    assert (status.total, status.succeeded, status.failed) == (3, 1, 2)
    results = {r.custom_id: r for r in provider.results(batch_id)}
    server, invalid = results["boom"].error, results["bad"].error
    assert results["boom"].outcome is Outcome.FAILED and server is not None
    assert (server.code, server.retryable) == ("api_error", True)
    assert server.raw["type"] == "error" and server.message
    assert results["bad"].outcome is Outcome.FAILED and invalid is not None
    assert (invalid.code, invalid.retryable) == ("invalid_request_error", False)


def test_unknown_batch_raises_an_error_naming_it(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    with pytest.raises(ProviderCallError, match="not_found_error") as missing:
        provider.status("msgbatch_missing")
    assert missing.value.batch_id == "msgbatch_missing"
    assert missing.value.provider == "anthropic"


def test_create_is_sent_once_even_when_the_server_fails(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batchgraph_sandbox.configure(server_error_rate=1.0)
    # Faults never hit two calls in a row: after a fault, one call passes, then the next fails.
    url = batchgraph_sandbox.base_url("anthropic") + "/v1/messages/batches"
    headers = {"x-api-key": SANDBOX_API_KEY}
    while httpx.get(url, headers=headers).status_code < 500:
        pass
    assert httpx.get(url, headers=headers).status_code == 200
    with pytest.raises(ProviderCallError, match="could not create a batch"):
        provider.create_batch(wire(2), TAG)
    assert batchgraph_sandbox.creations("anthropic") == []


def test_create_without_an_answer_says_to_look_the_tag_up_first() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ProviderSettings("anthropic", SANDBOX_API_KEY, f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderCallError, match="look it up by its tag bgjob1c0a0"):
        AnthropicProvider(settings).create_batch(wire(1), TAG)


def test_reads_ride_out_rate_limits_and_server_blips(batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    before = datetime.now(UTC)
    batch_id = provider.create_batch(wire(20), TAG)
    batchgraph_sandbox.configure(server_error_rate=0.5, rate_limit_every=2)
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    assert provider.find_batch(TAG, before) == batch_id
    outcomes = collect(provider, batch_id, [str(i) for i in range(20)])
    assert set(outcomes.values()) == {Outcome.SUCCEEDED}
    provider.cancel(batch_id)


def test_cancel_ends_cancelled_and_cancelling_an_ended_batch_does_nothing(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batch_id = provider.create_batch(wire(40), TAG)
    clock.now += 50
    provider.cancel(batch_id)
    assert provider.status(batch_id).state is BatchState.CANCELLING
    clock.now += 10
    status = provider.status(batch_id)
    assert (status.state, status.raw_status) == (BatchState.CANCELLED, "ended")
    assert 0 < status.succeeded < 40 and status.failed == 40 - status.succeeded
    outcomes = list(collect(provider, batch_id, [str(i) for i in range(40)]).values())
    assert outcomes.count(Outcome.CANCELLED) == status.failed
    provider.cancel(batch_id)


def test_expired_batch_is_expired_with_its_finished_part_succeeded(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    batchgraph_sandbox.configure(expire_fraction=0.5)
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batch_id = provider.create_batch(wire(40), TAG)
    clock.now += DAY + 1
    status = provider.status(batch_id)
    assert status.state is BatchState.EXPIRED
    outcomes = list(collect(provider, batch_id, [str(i) for i in range(40)]).values())
    assert outcomes.count(Outcome.SUCCEEDED) == status.succeeded > 0
    assert outcomes.count(Outcome.EXPIRED) == status.failed > 0


def test_archived_batch_says_its_results_are_gone(
    batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = provider_on(batchgraph_sandbox, "anthropic")
    batch_id = provider.create_batch(wire(2), TAG)
    clock.now += 29 * DAY + 1
    status = provider.status(batch_id)
    assert status.state is BatchState.COMPLETED
    assert "archived" in status.errors[0]
    with pytest.raises(ProviderCallError, match="archived"):
        list(provider.results(batch_id))
