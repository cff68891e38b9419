"""Preparing the next batch while this one is created: the node gets the upload made ahead,
and an upload nobody will create a batch from is removed from the provider."""

from __future__ import annotations

import time

import openai
import pytest

from batchgraph.graph.ahead import PrepareAhead
from batchgraph.providers.base import BatchState, BatchTag, Provider, WireItem
from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox.server import SandboxHandle
from tests.providers.provider_helpers import chat, provider_on, wait_done


@pytest.fixture
def provider(batchgraph_sandbox: SandboxHandle) -> Provider:
    batchgraph_sandbox.configure(processing_seconds=0.0)
    return provider_on(batchgraph_sandbox, "openai")


@pytest.fixture
def files(batchgraph_sandbox: SandboxHandle) -> openai.OpenAI:
    """The SDK itself, to see which files the provider holds."""
    return openai.OpenAI(api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("openai"))


def items(count: int, reads: list[int] | None = None) -> list[WireItem]:
    if reads is not None:
        reads.append(count)
    return [WireItem(str(n), chat(f"r{n}")) for n in range(count)]


def upload_names(files: openai.OpenAI) -> list[str]:
    return sorted(f.filename for f in files.files.list() if f.purpose == "batch")


def test_the_batch_prepared_ahead_is_the_one_created(
    provider: Provider, files: openai.OpenAI
) -> None:
    ahead, tag, reads = PrepareAhead(), BatchTag("prep", 1, 1), []

    ahead.start(provider, tag, lambda: items(7, reads))
    prepared = ahead.prepared(provider, tag, lambda: items(99, reads))
    batch_id = provider.create_prepared(prepared)

    assert reads == [7], "the items are read once, by the preparation started ahead"
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    assert len(list(provider.results(batch_id))) == 7
    assert upload_names(files) == ["batchgraph-bgprepc1a1.jsonl"]


def test_an_upload_prepared_for_another_chunk_is_removed(
    provider: Provider, files: openai.OpenAI
) -> None:
    ahead = PrepareAhead()
    ahead.start(provider, BatchTag("prep", 2, 1), lambda: items(5))

    prepared = ahead.prepared(provider, BatchTag("prep", 3, 1), lambda: items(4))

    assert prepared.size == 4
    deadline = time.monotonic() + 5.0
    while upload_names(files) != ["batchgraph-bgprepc3a1.jsonl"]:
        assert time.monotonic() < deadline, upload_names(files)
        time.sleep(0.05)
