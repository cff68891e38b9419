"""What an estimate expects the result cache to answer, so that it prices only what is sent.

A job written with the cache on (the default) sends each distinct request once, and none that
an earlier job of the store answered (`store.result_cache`): a second dry run over a file
already collected should say $0, not the first job's price again. The forecast follows the
input as the estimate reads it: each request's key (`store.cache_key`, the one the ledger
writes) is looked up in the store's cache a page at a time, and the keys it does not answer
are kept, to find repeats, in a private temporary SQLite database on disk (SQLite keeps only a
small page cache of it in memory), so the memory held stays flat whatever the input's size.

>>> from batchgraph.store.sqlite import SqliteStore
>>> from batchgraph.model import Request
>>> with SqliteStore("forecast.db") as store:  # a new store: its cache is empty
...     forecast = ReuseForecast(store, "openai")
...     for n, prompt in enumerate(["hi", "hello", "hi"]):
...         forecast.add(Request(id=str(n), line=n + 1, model="gpt-4o-mini",
...                              messages=({"role": "user", "content": prompt},)))
...     forecast.finish()
>>> forecast.repeats["gpt-4o-mini"], forecast.sent["gpt-4o-mini"]
(1, 2)
"""

from __future__ import annotations

import sqlite3
from collections import Counter

from batchgraph.model import Request
from batchgraph.store.base import Store
from batchgraph.store.cache_key import request_key
from batchgraph.store.rows import request_to_text

PAGE = 1000
"""Requests looked up in the store's cache at once."""


class ReuseForecast:
    """Requests by model that the cache will answer (`hits`), that repeat an earlier request
    of the input (`repeats`), and that will be sent (`sent`), once `finish` is called."""

    def __init__(self, store: Store, provider: str) -> None:
        self.store = store
        self.provider = provider
        self.hits: Counter[str] = Counter()
        self.repeats: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self._page: list[tuple[str, bytes]] = []
        self._cache_empty = store.cache_size() == 0
        self._seen = sqlite3.connect("")  # "": a private database on disk, gone when closed
        self._seen.execute("CREATE TABLE seen (key BLOB PRIMARY KEY) WITHOUT ROWID")

    def add(self, request: Request) -> None:
        """One request of the input, in input order."""
        self._page.append((request.model, request_key(self.provider, request_to_text(request))))
        if len(self._page) >= PAGE:
            self._flush()

    def finish(self) -> None:
        """Count the last page and let the temporary database go."""
        self._flush()
        self._seen.close()

    @property
    def reused(self) -> int:
        """Requests answered without being sent."""
        return sum(self.hits.values()) + sum(self.repeats.values())

    def sent_share(self, model: str, requests: int) -> float:
        """The part of `model`'s `requests` that will be sent."""
        return self.sent[model] / requests if requests else 1.0

    def _flush(self) -> None:
        page, self._page = self._page, []
        if not page:
            return
        known = set() if self._cache_empty else self.store.known_keys([key for _, key in page])
        with self._seen:
            for model, key in page:
                if key in known:
                    self.hits[model] += 1
                elif self._seen.execute("INSERT OR IGNORE INTO seen VALUES (?)", (key,)).rowcount:
                    self.sent[model] += 1
                else:
                    self.repeats[model] += 1
