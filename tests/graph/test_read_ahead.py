"""The background reader of a batch: it hands over the same results as the adapter, raises
the adapter's errors in the node, and stops when the batch it read ahead is never asked for."""

from __future__ import annotations

import pytest

from batchgraph.errors import ProviderCallError
from batchgraph.graph.ahead import BLOCK, BLOCKS_AHEAD, ReadAhead
from batchgraph.providers.base import BatchState, BatchTag, Provider, WireItem
from batchgraph.sandbox.server import SandboxHandle
from tests.providers.provider_helpers import chat, provider_on, wait_done


def finished_batch(provider: Provider, size: int, chunk: int = 0) -> str:
    items = [WireItem(f"{chunk}-{n}", chat(f"r{n}")) for n in range(size)]
    batch_id = provider.create_batch(items, BatchTag("readahead", chunk, 1))
    assert wait_done(provider, batch_id).state is BatchState.COMPLETED
    return batch_id


@pytest.fixture
def openai(batchgraph_sandbox: SandboxHandle) -> Provider:
    batchgraph_sandbox.configure(processing_seconds=0.0)
    return provider_on(batchgraph_sandbox, "openai")


def test_a_reader_started_ahead_is_handed_over_with_every_result(openai: Provider) -> None:
    batch_id = finished_batch(openai, 2500)
    ahead = ReadAhead()

    ahead.start(openai, batch_id)
    reader = ahead.reader(openai, batch_id)

    assert reader.status().state is BatchState.COMPLETED
    read = [r.custom_id for r in reader.results()]
    assert sorted(read) == sorted(r.custom_id for r in openai.results(batch_id))
    assert len(read) == 2500
    assert reader.join(5.0)


def test_a_reader_for_a_batch_never_asked_for_is_stopped(openai: Provider) -> None:
    unwanted = finished_batch(openai, BLOCK * (BLOCKS_AHEAD + 2), chunk=0)
    wanted = finished_batch(openai, 10, chunk=1)
    ahead = ReadAhead()
    abandoned = ahead.start(openai, unwanted)
    assert abandoned.status().state is BatchState.COMPLETED
    assert not abandoned.join(0.5), "with nobody reading, the reader waits on its full queue"

    reader = ahead.reader(openai, wanted)

    assert reader is not abandoned
    assert len(list(reader.results())) == 10
    assert abandoned.join(5.0), "the reader nobody asked for must end"


def test_the_adapters_error_is_raised_where_the_status_is_read(openai: Provider) -> None:
    reader = ReadAhead().reader(openai, "batch_that_does_not_exist")

    with pytest.raises(ProviderCallError, match="batch_that_does_not_exist"):
        reader.status()
    assert reader.join(5.0)
