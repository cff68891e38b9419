"""What the Anthropic part of the sandbox does, driven by the official `anthropic` SDK over real
HTTP.

Whether its bodies have Anthropic's shapes is `test_anthropic_shapes.py`'s question."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic
from anthropic_support import (
    DAY,
    MODEL,
    FakeClock,
    item,
    items,
    raw,
    result_lines,
    retrieve_raw,
    stop_the_clock,
)

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle
from batchgraph.sandbox.anthropic_checks import MAX_BYTES, CreateRefused, check_size


@pytest.fixture
def client(batchgraph_sandbox: SandboxHandle) -> Iterator[Anthropic]:
    sdk = Anthropic(api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("anthropic"))
    yield sdk
    sdk.close()


@pytest.fixture
def clock(batchgraph_sandbox: SandboxHandle) -> FakeClock:
    return stop_the_clock(batchgraph_sandbox)


def test_batch_round_trip_answers_every_request_in_no_particular_order(
    client: Anthropic, batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    verdict = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    tool = {"name": "verdict", "input_schema": verdict}
    requests = [
        *items(40),
        item("with-system", system="Answer in one word."),
        item("with-tool", tools=[tool], tool_choice={"type": "tool", "name": "verdict"}),
    ]

    response = client.messages.batches.with_raw_response.create(requests=requests)  # type: ignore[arg-type]
    created = response.json()
    assert isinstance(created, dict)
    assert created["processing_status"] == "in_progress"
    idle = {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    assert created["request_counts"] == {"processing": 42, **idle}
    assert created["results_url"] is None and created["ended_at"] is None
    expires_at = datetime.fromisoformat(created["expires_at"])
    assert expires_at - datetime.fromisoformat(created["created_at"]) == timedelta(hours=24)
    assert response.headers["content-type"].startswith("application/json")

    clock.now += 101
    done = retrieve_raw(client, created["id"])
    assert done["processing_status"] == "ended" and done["ended_at"] is not None
    assert done["request_counts"]["succeeded"] == 42
    assert done["results_url"] == (
        f"{batchgraph_sandbox.url}/anthropic/v1/messages/batches/{created['id']}/results"
    )

    lines = result_lines(batchgraph_sandbox, done["results_url"])
    ids = [line["custom_id"] for line in lines]
    assert sorted(ids) == sorted(r["custom_id"] for r in requests)
    assert ids != [r["custom_id"] for r in requests], "results come in no particular order"
    by_id = {line["custom_id"]: line["result"] for line in lines}
    answer = by_id["with-tool"]["message"]
    assert answer["stop_reason"] == "tool_use"
    assert answer["content"][0]["type"] == "tool_use"
    assert isinstance(answer["content"][0]["input"]["ok"], bool)
    assert by_id["req-0"]["message"]["content"][0]["type"] == "text"

    streamed = {r.custom_id: r.result.type for r in client.messages.batches.results(created["id"])}
    assert streamed == dict.fromkeys(streamed, "succeeded") and len(streamed) == 42


def test_request_counts_stay_in_processing_until_the_whole_batch_ends(
    client: Anthropic, clock: FakeClock
) -> None:
    batch = client.messages.batches.create(requests=items(30))  # type: ignore[arg-type]
    clock.now += 80  # most requests are done, the batch is not
    midway = retrieve_raw(client, batch.id)
    assert midway["processing_status"] == "in_progress"
    assert midway["request_counts"]["processing"] == 30
    clock.now += 21
    ended = retrieve_raw(client, batch.id)
    assert ended["request_counts"]["processing"] == 0
    assert sum(ended["request_counts"].values()) == 30


def test_list_pages_newest_first_in_both_directions(
    client: Anthropic, batchgraph_sandbox: SandboxHandle
) -> None:
    ids = [client.messages.batches.create(requests=items(2)).id for _ in range(5)]  # type: ignore[arg-type]
    newest_first = list(reversed(ids))

    first = raw(batchgraph_sandbox, "GET", "/v1/messages/batches", params={"limit": 2}).json()
    assert [b["id"] for b in first["data"]] == newest_first[:2]
    assert (first["first_id"], first["last_id"]) == (newest_first[0], newest_first[1])
    assert first["has_more"] is True

    assert [b.id for b in client.messages.batches.list(limit=2)] == newest_first
    after = client.messages.batches.list(limit=2, after_id=newest_first[1])
    assert [b.id for b in after.data] == newest_first[2:4] and after.has_more

    before = client.messages.batches.list(limit=2, before_id=ids[0])
    assert [b.id for b in before.data] == [ids[2], ids[1]] and before.has_more
    assert [b.id for b in before] == [ids[2], ids[1], ids[4], ids[3]]
    query = {"limit": 2, "before_id": ids[2]}
    last = raw(batchgraph_sandbox, "GET", "/v1/messages/batches", params=query).json()
    assert [b["id"] for b in last["data"]] == [ids[4], ids[3]] and last["has_more"] is False


def test_cancel_goes_through_canceling_and_ends_with_unprocessed_requests_canceled(
    client: Anthropic, batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    batch = client.messages.batches.create(requests=items(200))  # type: ignore[arg-type]
    clock.now += 50
    response = client.messages.batches.with_raw_response.cancel(batch.id)
    canceling = response.json()
    assert isinstance(canceling, dict)
    assert canceling["processing_status"] == "canceling"
    assert canceling["cancel_initiated_at"] is not None
    assert canceling["results_url"] is None

    clock.now += 10
    ended = retrieve_raw(client, batch.id)
    counts = ended["request_counts"]
    assert ended["processing_status"] == "ended"
    assert counts["canceled"] > 0 and counts["succeeded"] > 0
    assert sum(counts.values()) == 200
    lines = result_lines(batchgraph_sandbox, ended["results_url"])
    kinds = Counter(line["result"]["type"] for line in lines)
    assert kinds == Counter({k: v for k, v in counts.items() if v})

    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.batches.cancel(batch.id)
    assert refused.value.body["error"]["type"] == "invalid_request_error"


def test_delete_is_refused_while_processing_and_removes_an_ended_batch(
    client: Anthropic, clock: FakeClock
) -> None:
    batch = client.messages.batches.create(requests=items(3))  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.batches.delete(batch.id)
    assert refused.value.body["error"]["type"] == "invalid_request_error"

    clock.now += 101
    deleted = client.messages.batches.with_raw_response.delete(batch.id).json()
    assert deleted == {"id": batch.id, "type": "message_batch_deleted"}
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.batches.retrieve(batch.id)
    assert missing.value.body["error"]["type"] == "not_found_error"
    assert batch.id not in [b.id for b in client.messages.batches.list()]


def test_expired_batch_keeps_its_finished_results_and_expires_the_rest(
    client: Anthropic,
    batchgraph_sandbox: SandboxHandle,
    clock: FakeClock,
) -> None:
    batchgraph_sandbox.configure(expire_fraction=0.5)
    batch = client.messages.batches.create(requests=items(200))  # type: ignore[arg-type]
    clock.now += DAY - 1
    assert retrieve_raw(client, batch.id)["processing_status"] == "in_progress"
    clock.now += 2
    ended = retrieve_raw(client, batch.id)
    counts = ended["request_counts"]
    assert ended["processing_status"] == "ended"
    assert 60 < counts["succeeded"] < 140 and counts["expired"] == 200 - counts["succeeded"]
    lines = result_lines(batchgraph_sandbox, ended["results_url"])
    assert Counter(line["result"]["type"] for line in lines)["expired"] == counts["expired"]


def test_results_are_archived_29_days_after_creation(client: Anthropic, clock: FakeClock) -> None:
    batch = client.messages.batches.create(requests=items(3))  # type: ignore[arg-type]
    clock.now += 28 * DAY
    assert retrieve_raw(client, batch.id)["archived_at"] is None
    assert len(list(client.messages.batches.results(batch.id))) == 3
    clock.now += DAY
    archived = retrieve_raw(client, batch.id)
    assert archived["archived_at"] is not None
    assert archived["request_counts"]["succeeded"] == 3
    with pytest.raises(anthropic.NotFoundError):
        list(client.messages.batches.results(batch.id))


def test_injected_failures_come_back_as_errored_results_with_anthropics_error(
    client: Anthropic, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(failure_rate=0.3)
    batch = client.messages.batches.create(requests=items(300))  # type: ignore[arg-type]
    ended = retrieve_raw(client, batch.id)
    errored = ended["request_counts"]["errored"]
    assert 60 < errored < 120 and ended["request_counts"]["succeeded"] == 300 - errored
    lines = result_lines(batchgraph_sandbox, ended["results_url"])
    failures = [line for line in lines if line["result"]["type"] == "errored"]
    assert len(failures) == errored
    for line in failures:
        assert line["result"]["error"]["error"]["type"] == "api_error"


def test_params_anthropic_would_refuse_come_back_as_errored_requests(
    client: Anthropic, batchgraph_sandbox: SandboxHandle
) -> None:
    requests = [item("good"), item("hot", temperature=3), item("no-user", messages=[])]
    batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    ended = retrieve_raw(client, batch.id)
    found = result_lines(batchgraph_sandbox, ended["results_url"])
    lines = {line["custom_id"]: line["result"] for line in found}
    assert lines["good"]["type"] == "succeeded"
    for bad in ("hot", "no-user"):
        assert lines[bad]["type"] == "errored"
        assert lines[bad]["error"]["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("requests", "problem"),
    [
        ([item("has space")], "custom_id"),
        ([item("x" * 65)], "custom_id"),
        ([item("twice"), item("twice")], "unique"),
        ([{"custom_id": "a", "params": {"model": MODEL, "messages": []}}], "max_tokens"),
        ([item("a", max_tokens=0)], "max_tokens"),
        ([{"custom_id": "a", "params": {"max_tokens": 5, "messages": []}}], "model"),
        ([], "requests"),
    ],
)
def test_create_refuses_a_malformed_batch_with_anthropics_error_body(
    client: Anthropic,
    batchgraph_sandbox: SandboxHandle,
    requests: list[dict[str, Any]],
    problem: str,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    assert refused.value.body["error"]["type"] == "invalid_request_error"
    assert problem in refused.value.body["error"]["message"]
    assert refused.value.request_id is not None
    assert batchgraph_sandbox.creations("anthropic") == []


def test_create_refuses_more_than_100000_requests(batchgraph_sandbox: SandboxHandle) -> None:
    line = json.dumps({"custom_id": "a", "params": {"model": "m", "max_tokens": 1, "messages": []}})
    body = ('{"requests":[' + ",".join([line] * 100_001) + "]}").encode()
    response = raw(batchgraph_sandbox, "POST", "/v1/messages/batches", content=body)
    assert response.status_code == 400
    assert "100000" in response.json()["error"]["message"]


def test_a_body_over_256_mb_is_too_large() -> None:
    check_size(MAX_BYTES)
    with pytest.raises(CreateRefused) as refused:
        check_size(MAX_BYTES + 1)
    assert (refused.value.status, refused.value.kind) == (413, "request_too_large")


def test_both_auth_styles_work_and_a_missing_key_is_401(batchgraph_sandbox: SandboxHandle) -> None:
    path = "/v1/messages/batches"
    sdk_1x = raw(batchgraph_sandbox, "GET", path, params={"beta": "true"})
    assert sdk_1x.status_code == 200
    sdk_2x = raw(batchgraph_sandbox, "GET", path, bearer=True)
    assert sdk_2x.status_code == 200
    nobody = httpx.get(batchgraph_sandbox.base_url("anthropic") + path)
    assert nobody.status_code == 401
    assert nobody.json()["error"]["type"] == "authentication_error"


def test_sdk_1x_style_client_with_x_api_key_runs_a_batch(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    """SDK 0.x/1.x authenticate with `x-api-key` only; the sandbox accepts that alone."""
    transport = httpx.Client(headers={"x-api-key": SANDBOX_API_KEY})
    base = batchgraph_sandbox.base_url("anthropic")
    created = transport.post(f"{base}/v1/messages/batches", json={"requests": items(2)}).json()
    batch = transport.get(f"{base}/v1/messages/batches/{created['id']}").json()
    results = transport.get(batch["results_url"]).text.splitlines()
    assert len(results) == 2
    transport.close()


def test_unknown_batch_is_404_not_found_error(client: Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.batches.retrieve("msgbatch_nope")
    assert missing.value.body["error"]["type"] == "not_found_error"


def test_transient_429_500_and_529_are_answered_in_anthropics_shape(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(server_error_rate=1.0)
    statuses = [raw(batchgraph_sandbox, "GET", "/v1/messages/batches") for _ in range(8)]
    faults = [r for r in statuses if r.status_code >= 500]
    assert {r.status_code for r in faults} == {500, 529}
    assert {f.json()["error"]["type"] for f in faults} == {"api_error", "overloaded_error"}
    batchgraph_sandbox.configure(server_error_rate=0.0, rate_limit_every=1)
    limited = [raw(batchgraph_sandbox, "GET", "/v1/messages/batches") for _ in range(2)]
    blip = next(r for r in limited if r.status_code == 429)
    assert blip.json()["error"]["type"] == "rate_limit_error" and "retry-after" in blip.headers


def test_sdk_retries_blips_and_the_whole_flow_completes(
    client: Anthropic, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(server_error_rate=0.5, rate_limit_every=3)
    batch = client.messages.batches.create(requests=items(20))  # type: ignore[arg-type]
    assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
    assert len(list(client.messages.batches.list(limit=1))) == 1
    assert len(list(client.messages.batches.results(batch.id))) == 20
    assert client.messages.batches.delete(batch.id).type == "message_batch_deleted"


def test_creations_log_records_each_batchs_custom_ids(
    client: Anthropic, batchgraph_sandbox: SandboxHandle
) -> None:
    batch = client.messages.batches.create(requests=items(3, "bgj1c0a0"))  # type: ignore[arg-type]
    [creation] = batchgraph_sandbox.creations("anthropic")
    assert creation.batch_id == batch.id and creation.request_count == 3
    assert creation.custom_ids == ["bgj1c0a0-0", "bgj1c0a0-1", "bgj1c0a0-2"]


@pytest.mark.slow
def test_a_100000_request_batch_is_created_and_streamed(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    """How fast is for `make bench` (bench_sandbox); here, that nothing is lost on the way."""
    requests = [json.dumps(item(f"r{i}", f"question {i}")) for i in range(100_000)]
    body = ('{"requests":[' + ",".join(requests) + "]}").encode()
    created = raw(batchgraph_sandbox, "POST", "/v1/messages/batches", content=body).json()
    batch = raw(batchgraph_sandbox, "GET", f"/v1/messages/batches/{created['id']}").json()
    count = 0
    results = batch["results_url"]
    with httpx.stream("GET", results, headers={"x-api-key": "k"}, timeout=None) as stream:
        for line in stream.iter_lines():
            count += bool(line)
    assert count == 100_000


def test_faults_are_decided_on_the_id_after_a_batchgraph_tag(
    client: Anthropic, batchgraph_sandbox: SandboxHandle
) -> None:
    """`^3$` fails request 3 whether or not a batch tag stands in front of its custom_id."""
    batchgraph_sandbox.configure(fail_ids="^3$")
    requests = [item("bgjob1c0a1-3"), item("bgjob1c0a1-4"), item("3"), item("x-3")]
    batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    outcomes = {r.custom_id: r.result.type for r in client.messages.batches.results(batch.id)}
    assert outcomes == {
        "bgjob1c0a1-3": "errored",
        "bgjob1c0a1-4": "succeeded",
        "3": "errored",
        "x-3": "succeeded",
    }
