"""Provider calls started ahead: the node gets the answer of the call started for it, the
adapter's errors are raised in the node, and an upload nobody creates a batch from is removed."""

from __future__ import annotations

import time

import openai
import pytest

from batchgraph.errors import ProviderCallError
from batchgraph.graph.ahead import Ahead
from batchgraph.providers.base import (
    BatchState,
    BatchStatus,
    BatchTag,
    PreparedBatch,
    Provider,
    WireItem,
)
from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox.server import SandboxHandle
from tests.patience import HANG_S
from tests.providers.provider_helpers import chat, provider_on, wait_done

Uploads = Ahead[tuple[Provider, BatchTag], PreparedBatch]


@pytest.fixture
def provider(batchgraph_sandbox: SandboxHandle) -> Provider:
    batchgraph_sandbox.configure(processing_seconds=0.0)
    return provider_on(batchgraph_sandbox, "openai")


@pytest.fixture
def files(batchgraph_sandbox: SandboxHandle) -> openai.OpenAI:
    """The SDK itself, to see which files the provider holds."""
    return openai.OpenAI(api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("openai"))


def items(count: int) -> list[WireItem]:
    return [WireItem(str(n), chat(f"r{n}")) for n in range(count)]


def uploads() -> Uploads:
    return Ahead(lambda key, prepared: key[0].discard_prepared(prepared))


def upload_names(files: openai.OpenAI) -> list[str]:
    return sorted(f.filename for f in files.files.list() if f.purpose == "batch")


def test_the_status_asked_for_ahead_is_the_one_taken(provider: Provider) -> None:
    batch_id = provider.create_batch(items(3), BatchTag("ahead", 0, 1))
    wait_done(provider, batch_id)
    asked: list[str] = []

    def status() -> BatchStatus:
        asked.append(batch_id)
        return provider.status(batch_id)

    statuses: Ahead[str, BatchStatus] = Ahead()
    statuses.start(batch_id, status)
    taken = statuses.take(batch_id, status)

    assert taken.state is BatchState.COMPLETED and taken.total == 3
    assert asked == [batch_id], "the call started ahead answers; it is not made again"


def test_the_adapters_error_is_raised_where_the_answer_is_taken(provider: Provider) -> None:
    statuses: Ahead[str, BatchStatus] = Ahead()
    statuses.start("batch_nope", lambda: provider.status("batch_nope"))

    with pytest.raises(ProviderCallError, match="batch_nope"):
        statuses.take("batch_nope", lambda: provider.status("batch_nope"))


def test_the_batch_prepared_ahead_is_the_one_created(
    provider: Provider, files: openai.OpenAI
) -> None:
    ahead, tag = uploads(), BatchTag("prep", 1, 1)

    ahead.start((provider, tag), lambda: provider.prepare_batch(items(7), tag))
    prepared = ahead.take((provider, tag), lambda: provider.prepare_batch(items(99), tag))
    batch_id = provider.create_prepared(prepared)

    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    assert len(list(provider.results(batch_id))) == 7
    assert upload_names(files) == ["batchgraph-bgprepc1a1.jsonl"]


def test_an_upload_prepared_for_another_chunk_is_removed(
    provider: Provider, files: openai.OpenAI
) -> None:
    ahead, unused, wanted = uploads(), BatchTag("prep", 2, 1), BatchTag("prep", 3, 1)
    ahead.start((provider, unused), lambda: provider.prepare_batch(items(5), unused))

    prepared = ahead.take((provider, wanted), lambda: provider.prepare_batch(items(4), wanted))

    assert prepared.size == 4
    deadline = time.monotonic() + HANG_S
    while upload_names(files) != ["batchgraph-bgprepc3a1.jsonl"]:
        assert time.monotonic() < deadline, upload_names(files)
        time.sleep(0.05)
