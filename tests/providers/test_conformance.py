"""One suite, every provider: each adapter must behave the same against the sandbox.

Every provider in the registry runs it: one whose adapter fails to import, or that the
sandbox does not serve, fails here rather than being skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import jsonschema
import provider_helpers
import pytest
from provider_helpers import MODELS, PROVIDERS, FakeClock, adapter_module, provider_on, wait_done

from batchgraph.errors import ProviderCallError
from batchgraph.model import Outcome, OutputSchema, Request, Result
from batchgraph.planning import plan_chunks
from batchgraph.providers.base import BatchState, BatchTag, Caps, Provider, WireItem, account_for
from batchgraph.providers.registry import spec_for
from batchgraph.sandbox import SandboxHandle
from batchgraph.sandbox.app import load_providers

SERVED = set(load_providers())
SCHEMA = OutputSchema(
    "verdict",
    {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "reason": {"type": "string"}},
        "required": ["ok", "reason"],
        "additionalProperties": False,
    },
)


@pytest.fixture(params=PROVIDERS)
def name(request: pytest.FixtureRequest) -> str:
    provider: str = request.param
    adapter_module(provider)
    assert spec_for(provider).sandbox in SERVED, f"the sandbox serves no {provider}"
    return provider


def test_an_adapter_that_fails_to_import_fails_its_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = SimpleNamespace(adapter="batchgraph.providers.no_such_adapter:Adapter")
    monkeypatch.setattr(provider_helpers, "spec_for", lambda _name: broken)
    with pytest.raises(ModuleNotFoundError):
        adapter_module("openai")


def ask(name: str, request_id: str, text: str = "Is water wet?", **extra: object) -> Request:
    return Request(
        id=request_id,
        line=1,
        model=MODELS[name],
        messages=({"role": "user", "content": text},),
        max_tokens=200,
        **extra,  # type: ignore[arg-type]
    )


def run_batch(provider: Provider, wire: list[WireItem], tag: BatchTag) -> list[Result]:
    """Create one batch, wait for it and account for every request."""
    batch_id = provider.create_batch(wire, tag)
    assert wait_done(provider, batch_id).done
    expected = [w.custom_id for w in wire]
    return list(account_for(provider.results(batch_id), expected, batch_id))


def test_job_over_the_cap_is_split_into_batches_that_all_come_back(
    name: str, batchgraph_sandbox: SandboxHandle
) -> None:
    provider = provider_on(batchgraph_sandbox, name, caps=Caps(max_requests=3, max_bytes=10**6))
    requests = [ask(name, f"q{i}", f"question {i}") for i in range(7)]
    chunks = plan_chunks(enumerate(requests), provider)
    assert [len(c.indices) for c in chunks] == [3, 3, 1]
    results: list[Result] = []
    for number, chunk in enumerate(chunks):
        wire = [WireItem(f"r{i}", requests[i]) for i in chunk.indices]
        results += run_batch(provider, wire, BatchTag("job1", number, 0))
    assert len(batchgraph_sandbox.creations(name)) == 3
    assert sorted(r.custom_id for r in results) == [f"r{i}" for i in range(7)]
    assert {r.outcome for r in results} == {Outcome.SUCCEEDED}
    assert all(r.text and r.usage.input_tokens > 0 for r in results)


def test_injected_failures_keep_the_providers_error_details(
    name: str, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(fail_ids="fail")
    provider = provider_on(batchgraph_sandbox, name)
    wire = [WireItem("ok-1", ask(name, "a")), WireItem("fail-2", ask(name, "b"))]
    results = {r.custom_id: r for r in run_batch(provider, wire, BatchTag("job1", 0, 0))}
    assert results["ok-1"].outcome is Outcome.SUCCEEDED
    failed = results["fail-2"]
    assert failed.outcome is Outcome.FAILED and failed.error is not None
    assert failed.error.code and failed.error.message and failed.error.raw is not None
    assert failed.error.retryable, "an injected server error is worth retrying"


def test_expired_batch_keeps_finished_results_and_reports_the_rest(
    name: str, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(time_scale=86400 * 50, processing_seconds=60, expire_fraction=0.5)
    provider = provider_on(batchgraph_sandbox, name)
    wire = [WireItem(f"r{i}", ask(name, str(i), f"q{i}")) for i in range(40)]
    batch_id = provider.create_batch(wire, BatchTag("job1", 0, 0))
    assert wait_done(provider, batch_id).state is BatchState.EXPIRED
    results = list(account_for(provider.results(batch_id), [w.custom_id for w in wire], batch_id))
    outcomes = [r.outcome for r in results]
    assert len(results) == 40
    assert 5 < outcomes.count(Outcome.SUCCEEDED) < 35
    assert outcomes.count(Outcome.SUCCEEDED) + outcomes.count(Outcome.EXPIRED) == 40


def test_cancel_keeps_finished_results_and_reports_the_rest_cancelled(
    name: str, batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    provider = provider_on(batchgraph_sandbox, name)
    wire = [WireItem(f"r{i}", ask(name, str(i), f"q{i}")) for i in range(40)]
    batch_id = provider.create_batch(wire, BatchTag("job1", 0, 0))
    clock.now += 50
    provider.cancel(batch_id)
    # Stopping takes a while; Gemini has no cancelling state and reads as running meanwhile.
    assert provider.status(batch_id).state in (BatchState.CANCELLING, BatchState.RUNNING)
    clock.now += 10
    assert provider.status(batch_id).state is BatchState.CANCELLED
    results = list(account_for(provider.results(batch_id), [w.custom_id for w in wire], batch_id))
    outcomes = [r.outcome for r in results]
    assert 5 < outcomes.count(Outcome.SUCCEEDED) < 35
    assert outcomes.count(Outcome.SUCCEEDED) + outcomes.count(Outcome.CANCELLED) == 40


def test_batch_is_found_by_its_tag_after_a_crash_between_create_and_save(
    name: str, batchgraph_sandbox: SandboxHandle
) -> None:
    before = datetime.now(UTC)
    tag = BatchTag("job7", 2, 1)
    lost = provider_on(batchgraph_sandbox, name).create_batch([WireItem("r1", ask(name, "a"))], tag)
    provider_on(batchgraph_sandbox, name).create_batch(
        [WireItem("r2", ask(name, "b"))], BatchTag("job7", 3, 1)
    )
    restarted = provider_on(batchgraph_sandbox, name)
    wait_done(restarted, lost)
    assert restarted.find_batch(tag, before) == lost
    assert restarted.find_batch(BatchTag("job7", 2, 2), before) is None


def test_schema_constrained_answer_is_parsed(name: str, batchgraph_sandbox: SandboxHandle) -> None:
    provider = provider_on(batchgraph_sandbox, name)
    wire = [WireItem("s1", ask(name, "a", output_schema=SCHEMA))]
    (result,) = run_batch(provider, wire, BatchTag("job1", 0, 0))
    assert result.outcome is Outcome.SUCCEEDED
    jsonschema.validate(result.parsed, SCHEMA.schema)


def test_same_input_gives_same_ids_and_outcomes_on_every_provider(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(fail_ids="fail")
    seen = {}
    for name in PROVIDERS:
        wire = [
            WireItem(f"{kind}-{i}", ask(name, str(i), f"q{i}"))
            for i, kind in enumerate(["ok", "fail", "ok", "ok", "fail"])
        ]
        results = run_batch(provider_on(batchgraph_sandbox, name), wire, BatchTag("job1", 0, 0))
        seen[name] = sorted((r.custom_id, r.outcome.value) for r in results)
    assert len({tuple(v) for v in seen.values()}) == 1, seen


def test_a_discarded_preparation_leaves_nothing_to_create_a_batch_from(
    name: str, batchgraph_sandbox: SandboxHandle
) -> None:
    provider = provider_on(batchgraph_sandbox, name)
    tag = BatchTag("job1", 0, 1)
    wire = [WireItem("r1", ask(name, "a"))]
    kept = provider.prepare_batch(wire, tag)
    discarded = provider.prepare_batch(wire, tag)

    provider.discard_prepared(discarded)

    assert wait_done(provider, provider.create_prepared(kept)).done
    if discarded.file_id is None:  # sent inline (Anthropic): nothing was left at the provider
        assert discarded.items == wire
        return
    with pytest.raises(ProviderCallError):
        provider.create_prepared(discarded)
