"""Provider calls for the next chunk, started while the node works on this one.

Submitting and collecting each alternate between waiting on the provider and working
ourselves, chunk after chunk. So the node that submits a chunk starts the next chunk's upload
(`Provider.prepare_batch`) before it waits for its own batch to be created, and the node that
collects a chunk asks for the next batch's status before it writes its own results: the
provider's time on the next chunk overlaps ours on this one. Nodes still take each step in
order, and only they record anything; what runs ahead only reads or uploads, which costs
nothing, and an answer nobody takes is dropped (`on_drop` removes an unused upload).

The results themselves are read by the node: parsed in a second thread they came no faster
(parsing and writing share one GIL).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from batchgraph.errors import ProviderCallError

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Started(Generic[K, V]):
    key: K
    answer: Future[V]


class Ahead(Generic[K, V]):
    """At most one call started ahead of the node that will take its answer.

    Each call runs on a daemon thread of its own: a process that stops (Ctrl-C) does not wait
    for an answer nobody will take.
    """

    def __init__(self, on_drop: Callable[[K, V], None] | None = None) -> None:
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._started: _Started[K, V] | None = None

    def take(self, key: K, call: Callable[[], V]) -> V:
        """The answer for `key`: from the call started ahead for it (waiting for it to end,
        and raising what it raised), else from `call()` now. A call started for another key
        is dropped."""
        started = self._pop()
        if started is not None:
            if started.key == key:
                return started.answer.result()
            self._drop(started)
        return call()

    def start(self, key: K, call: Callable[[], V]) -> None:
        """Run `call` in the background; `take(key, …)` will wait for its answer."""
        answer: Future[V] = Future()

        def run() -> None:
            try:
                answer.set_result(call())
            except BaseException as error:  # raised by `take` in the node
                answer.set_exception(error)

        threading.Thread(target=run, name="batchgraph-ahead", daemon=True).start()
        with self._lock:
            earlier, self._started = self._started, _Started(key, answer)
        if earlier is not None:
            self._drop(earlier)

    def cancel(self) -> None:
        """Drop the call started ahead, if any (it still runs to its end)."""
        started = self._pop()
        if started is not None:
            self._drop(started)

    def _pop(self) -> _Started[K, V] | None:
        with self._lock:
            started, self._started = self._started, None
        return started

    def _drop(self, started: _Started[K, V]) -> None:
        """Hand a successful answer nobody will take to `on_drop` once it is there; a failure
        there is only logged (the answer is unused either way)."""
        on_drop = self._on_drop
        if on_drop is None:
            return

        def dropped(answer: Future[V]) -> None:
            if answer.exception() is not None:
                return
            try:
                on_drop(started.key, answer.result())
            except ProviderCallError as error:
                log.warning(
                    "could not clean up after an unused call for %s: %s", started.key, error
                )

        started.answer.add_done_callback(dropped)
