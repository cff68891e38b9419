"""Every kind of body the Anthropic part of the sandbox sends, checked against the JSON Schema
generated from Anthropic's SDK types (`tests/specs/anthropic`), and nothing else.

What the sandbox *does* (states, counts, faults, paging) is checked in
`test_anthropic_sandbox.py`; this module only asks whether each body has the shape the real API
gives it, so a schema change and a behaviour change fail different tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic
from anthropic_support import (
    DAY,
    MODEL,
    item,
    items,
    load_schemas,
    raw,
    result_lines,
    retrieve_raw,
    stop_the_clock,
)

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle

Bodies = Iterator[tuple[str, Any]]
"""(name of a `$defs` schema, body) pairs."""


def lines_of(sandbox: SandboxHandle, batch: dict[str, Any]) -> Bodies:
    for line in result_lines(sandbox, batch["results_url"]):
        yield "MessageBatchIndividualResponse", line


def a_batch_from_request_to_results(client: Anthropic, sandbox: SandboxHandle) -> Bodies:
    clock = stop_the_clock(sandbox)
    verdict = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    tool = {"name": "verdict", "input_schema": verdict}
    requests = [
        *items(3),
        item("with-system", system="Answer in one word."),
        item("with-tool", tools=[tool], tool_choice={"type": "tool", "name": "verdict"}),
    ]
    for request in requests:
        yield "MessageBatchRequest", request
    created = client.messages.batches.with_raw_response.create(requests=requests).json()  # type: ignore[arg-type]
    yield "MessageBatch", created
    clock.now += 50
    yield "MessageBatch", retrieve_raw(client, created["id"])
    clock.now += 51
    ended = retrieve_raw(client, created["id"])
    yield "MessageBatch", ended
    yield from lines_of(sandbox, ended)
    page = raw(sandbox, "GET", "/v1/messages/batches", params={"limit": 2}).json()
    for batch in page["data"]:
        yield "MessageBatch", batch
    clock.now += 29 * DAY
    yield "MessageBatch", retrieve_raw(client, created["id"])  # archived


def a_cancelled_batch(client: Anthropic, sandbox: SandboxHandle) -> Bodies:
    clock = stop_the_clock(sandbox)
    batch = client.messages.batches.create(requests=items(40))  # type: ignore[arg-type]
    clock.now += 50
    yield "MessageBatch", client.messages.batches.with_raw_response.cancel(batch.id).json()
    clock.now += 10
    ended = retrieve_raw(client, batch.id)
    yield "MessageBatch", ended
    yield from lines_of(sandbox, ended)
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.batches.cancel(batch.id)
    yield "ErrorResponse", refused.value.body


def a_deleted_batch(client: Anthropic, sandbox: SandboxHandle) -> Bodies:
    clock = stop_the_clock(sandbox)
    batch = client.messages.batches.create(requests=items(3))  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.batches.delete(batch.id)
    yield "ErrorResponse", refused.value.body
    clock.now += 101
    yield "DeletedMessageBatch", client.messages.batches.with_raw_response.delete(batch.id).json()
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.batches.retrieve(batch.id)
    yield "ErrorResponse", missing.value.body


def an_expired_batch(client: Anthropic, sandbox: SandboxHandle) -> Bodies:
    clock = stop_the_clock(sandbox)
    sandbox.configure(expire_fraction=0.5)
    batch = client.messages.batches.create(requests=items(40))  # type: ignore[arg-type]
    clock.now += DAY + 1
    ended = retrieve_raw(client, batch.id)
    yield "MessageBatch", ended
    yield from lines_of(sandbox, ended)


def errored_requests(client: Anthropic, sandbox: SandboxHandle) -> Bodies:
    sandbox.configure(fail_ids="^bad")
    requests = [item("bad-1"), item("good"), item("hot", temperature=3)]
    batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    yield from lines_of(sandbox, retrieve_raw(client, batch.id))


def refused_creations(client: Anthropic, sandbox: SandboxHandle) -> Bodies:
    malformed: list[list[dict[str, Any]]] = [
        [item("has space")],
        [item("twice"), item("twice")],
        [{"custom_id": "a", "params": {"model": MODEL, "messages": []}}],
        [{"custom_id": "a", "params": {"max_tokens": 5, "messages": []}}],
        [],
    ]
    for requests in malformed:
        with pytest.raises(anthropic.BadRequestError) as refused:
            client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        yield "ErrorResponse", refused.value.body


def transport_errors(client: Anthropic, sandbox: SandboxHandle) -> Bodies:
    yield "ErrorResponse", httpx.get(sandbox.base_url("anthropic") + "/v1/messages/batches").json()
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.batches.retrieve("msgbatch_nope")
    yield "ErrorResponse", missing.value.body
    sandbox.configure(server_error_rate=1.0)
    for _ in range(8):  # random blips alternate between 500 and 529
        reply = raw(sandbox, "GET", "/v1/messages/batches")
        if reply.status_code >= 500:
            yield "ErrorResponse", reply.json()
    sandbox.configure(server_error_rate=0.0, rate_limit_every=1)
    for _ in range(2):
        reply = raw(sandbox, "GET", "/v1/messages/batches")
        if reply.status_code == 429:
            yield "ErrorResponse", reply.json()


SCENARIOS: list[Callable[[Anthropic, SandboxHandle], Bodies]] = [
    a_batch_from_request_to_results,
    a_cancelled_batch,
    a_deleted_batch,
    an_expired_batch,
    errored_requests,
    refused_creations,
    transport_errors,
]


@pytest.fixture
def client(batchgraph_sandbox: SandboxHandle) -> Iterator[Anthropic]:
    sdk = Anthropic(
        api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("anthropic"), max_retries=0
    )
    yield sdk
    sdk.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_bodies_match_anthropics_schemas(
    scenario: Callable[[Anthropic, SandboxHandle], Bodies],
    client: Anthropic,
    batchgraph_sandbox: SandboxHandle,
) -> None:
    schemas = load_schemas()
    checked = 0
    for name, body in scenario(client, batchgraph_sandbox):
        schemas.validate(name, body)
        checked += 1
    assert checked > 0, "the scenario produced no body to check"


def test_a_body_of_the_wrong_shape_is_caught() -> None:
    """The checker itself: a batch missing its counts, or with a bad time, is refused."""
    schemas = load_schemas()
    with pytest.raises(Exception, match="request_counts"):
        schemas.validate("MessageBatch", {"id": "msgbatch_1", "type": "message_batch"})
