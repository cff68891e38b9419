"""Work on the next chunk in the background while the node waits for or works on this one.

Submitting and collecting a chunk each alternate between waiting on the provider and working
ourselves. Collecting: a `BatchReader` asks for the batch's status and reads its results in a
thread, handing them over through a short queue (memory stays bounded), and `ReadAhead` starts
the reader of the next chunk while this chunk's results are written, so the provider's time on
that batch overlaps ours on this one. Submitting: `PrepareAhead` encodes and uploads the next
chunk while this chunk's batch is being created. Nodes still take each step in order, and
only they record anything: the background only reads and uploads, which costs nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from batchgraph.errors import ProviderCallError
from batchgraph.model import Result
from batchgraph.providers.base import (
    BatchState,
    BatchStatus,
    BatchTag,
    PreparedBatch,
    Provider,
    WireItem,
)

log = logging.getLogger(__name__)

BLOCK = 1000
"""Results handed over at a time (one queue operation per result would cost more than the
parsing it overlaps)."""

BLOCKS_AHEAD = 4
"""Blocks the reader may hold before it waits for the node: a few MB of results."""

WAIT_S = 0.1
"""How often a reader blocked on a full queue looks whether it was cancelled."""


@dataclass(frozen=True, slots=True)
class _Done:
    """The end of the results, or the error that ended them."""

    error: BaseException | None = None


class BatchReader:
    """One batch's status and (once it has ended) its results, read by a background thread."""

    def __init__(self, provider: Provider, batch_id: str) -> None:
        self.provider = provider
        self.batch_id = batch_id
        self._status: BatchStatus | None = None
        self._error: BaseException | None = None
        self._status_read = threading.Event()
        self._cancelled = threading.Event()
        self._blocks: queue.Queue[list[Result] | _Done] = queue.Queue(BLOCKS_AHEAD)
        self._thread = threading.Thread(target=self._read, name=f"read {batch_id}", daemon=True)
        self._thread.start()

    def status(self) -> BatchStatus:
        """The batch's status (waits for the provider); raises what the provider raised."""
        self._status_read.wait()
        if self._status is None:
            assert self._error is not None
            raise self._error
        return self._status

    def results(self) -> Iterator[Result]:
        """The results of an ended batch, as the provider reports them."""
        while True:
            block = self._blocks.get()
            if isinstance(block, _Done):
                if block.error is not None:
                    raise block.error
                return
            yield from block

    def cancel(self) -> None:
        """Stop reading: the thread closes the provider's stream and ends."""
        self._cancelled.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _read(self) -> None:
        try:
            self._status = self.provider.status(self.batch_id)
        except BaseException as error:  # handed to the node, which raises it
            self._error = error
            self._status_read.set()
            return
        self._status_read.set()
        if not self._status.state.terminal or self._status.state is BatchState.FAILED:
            self._hand_over(_Done())
            return
        stream = self.provider.results(self.batch_id)
        try:
            block: list[Result] = []
            for result in stream:
                block.append(result)
                if len(block) == BLOCK:
                    if not self._hand_over(block):
                        return
                    block = []
            if block and not self._hand_over(block):
                return
        except BaseException as error:  # handed to the node, which raises it
            self._hand_over(_Done(error))
            return
        finally:
            close = getattr(stream, "close", None)  # ends the download of a cancelled read
            if close is not None:
                close()
        self._hand_over(_Done())

    def _hand_over(self, item: list[Result] | _Done) -> bool:
        """Queue `item` once there is room; False when cancelled first."""
        while not self._cancelled.is_set():
            try:
                self._blocks.put(item, timeout=WAIT_S)
                return True
            except queue.Full:
                continue
        return False


class ReadAhead:
    """At most one reader started ahead of the node that will use it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ahead: BatchReader | None = None

    def reader(self, provider: Provider, batch_id: str) -> BatchReader:
        """The reader of `batch_id`: the one started ahead for it, else a new one.

        A reader started ahead for another batch is cancelled (its node never came).
        """
        with self._lock:
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if ahead.batch_id == batch_id and ahead.provider is provider:
                return ahead
            ahead.cancel()
        return BatchReader(provider, batch_id)

    def start(self, provider: Provider, batch_id: str) -> BatchReader:
        """Begin reading `batch_id`, which the next node is expected to ask for."""
        started = BatchReader(provider, batch_id)
        with self._lock:
            ahead, self._ahead = self._ahead, started
        if ahead is not None:
            ahead.cancel()
        return started

    def cancel(self) -> None:
        """Drop the reader started ahead, if any."""
        with self._lock:
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.cancel()


ItemSource = Callable[[], Sequence[WireItem]]
"""Reads a chunk's items from the store when the preparation starts."""


@dataclass(frozen=True, slots=True)
class _Preparing:
    provider: Provider
    tag: BatchTag
    prepared: Future[PreparedBatch]


class PrepareAhead:
    """At most one batch prepared (encoded, uploaded) ahead of the node that will create it.

    A preparation whose node never comes (another chunk was asked for, or the tick failed)
    has its upload removed once it is done.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ahead: _Preparing | None = None

    def prepared(self, provider: Provider, tag: BatchTag, items: ItemSource) -> PreparedBatch:
        """The batch `tag` made ready: prepared ahead (waiting for it to finish), else now."""
        with self._lock:
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if ahead.provider is provider and ahead.tag == tag:
                return ahead.prepared.result()
            _discard(ahead)
        return provider.prepare_batch(items(), tag)

    def start(self, provider: Provider, tag: BatchTag, items: ItemSource) -> None:
        """Begin preparing `tag`'s batch, which the next node is expected to create."""
        prepared: Future[PreparedBatch] = Future()

        def prepare() -> None:
            try:
                prepared.set_result(provider.prepare_batch(items(), tag))
            except BaseException as error:  # raised by `prepared` in the node
                prepared.set_exception(error)

        threading.Thread(target=prepare, name=f"prepare {tag.label()}", daemon=True).start()
        with self._lock:
            ahead, self._ahead = self._ahead, _Preparing(provider, tag, prepared)
        if ahead is not None:
            _discard(ahead)

    def cancel(self) -> None:
        """Drop the preparation started ahead, if any."""
        with self._lock:
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            _discard(ahead)


def _discard(preparing: _Preparing) -> None:
    """Remove the upload of an unused preparation once it is done; a failure is only logged
    (the file is unused either way)."""

    def remove(done: Future[PreparedBatch]) -> None:
        if done.exception() is not None:
            return
        try:
            preparing.provider.discard_prepared(done.result())
        except ProviderCallError as error:
            log.warning("could not remove the unused upload of %s: %s", preparing.tag, error)

    preparing.prepared.add_done_callback(remove)
