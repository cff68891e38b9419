"""What graph nodes need besides state: the store and a way to reach each job's provider.

It sits below `graph`, `jobs` and `api`, which all use it, so that creating a job does not
reach up into the graph package.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from batchgraph.executors.limits import RateLimiter
from batchgraph.providers import HostAddress, adapter_class, open_provider
from batchgraph.providers.base import Provider
from batchgraph.store import open_store, resolve_location
from batchgraph.store.base import JobRecord, Store

DEFAULT_DATA_DIR = Path(".batchgraph")


def default_data_dir() -> Path:
    """`$BATCHGRAPH_HOME`, or `.batchgraph/` in the current directory."""
    return Path(os.environ.get("BATCHGRAPH_HOME", DEFAULT_DATA_DIR))


def store_location(db: str | None = None, data_dir: Path | None = None) -> str:
    """The database `Deps.open` opens: `db`, else `$BATCHGRAPH_DB`, else the data directory's."""
    home = data_dir or default_data_dir()
    return resolve_location(db or os.environ.get("BATCHGRAPH_DB") or str(home / "batchgraph.db"))


ProviderFactory = Callable[[JobRecord], Provider]


@dataclass
class Deps:
    """Resolved once per process and handed to `build_graph`; nodes never read globals."""

    store: Store
    data_dir: Path
    provider_factory: ProviderFactory | None = None
    sync_slice_seconds: float = 3.0
    """Longest one tick sends synchronous calls for (see `graph.sync_node`)."""
    clock: Callable[[], float] = time.time
    """Unix time, as a deadline's hedge reads it (tests move it instead of waiting)."""
    _providers: dict[str, Provider] = field(default_factory=dict, repr=False)
    _hosts: dict[tuple[str, str], Provider] = field(default_factory=dict, repr=False)
    _limiters: dict[tuple[str, str], RateLimiter] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(
        cls,
        db: str | None = None,
        data_dir: Path | None = None,
        provider_factory: ProviderFactory | None = None,
    ) -> Deps:
        """Open the store at `db` (a SQLite path or a postgresql:// URL; `BATCHGRAPH_DB`)."""
        store = open_store(store_location(db, data_dir))
        return cls(
            store=store, data_dir=data_dir or default_data_dir(), provider_factory=provider_factory
        )

    def provider(self, job: JobRecord) -> Provider:
        """The job's provider adapter, made once per job (nodes run in several threads)."""
        with self._lock:
            adapter = self._providers.get(job.id)
            if adapter is None:
                adapter = self._make(job)
                self._providers[job.id] = adapter
            return adapter

    def host(self, job: JobRecord, host: str | None) -> Provider:
        """The adapter of a chunk's host: the job's provider, or another one (a hedge's)."""
        if host is None or host == job.provider:
            return self.provider(job)
        with self._lock:
            adapter = self._hosts.get((job.id, host))
            if adapter is None:
                if self.provider_factory is not None:
                    adapter = self.provider_factory(replace(job, provider=host))
                else:
                    address = HostAddress.from_json(job.spec.get("hedge_host"))
                    adapter = open_provider(
                        host, sandbox_dir=self.data_dir / "sandbox", address=address
                    )
                self._hosts[(job.id, host)] = adapter
            return adapter

    def limiter(self, job: JobRecord, host: str, make: Callable[[], RateLimiter]) -> RateLimiter:
        """The job's rate limiter for `host`, kept for the life of the process, so that the
        pace holds across the steps that advance the job."""
        with self._lock:
            return self._limiters.setdefault((job.id, host), make())

    def provider_class(self, job: JobRecord) -> type[Provider]:
        """The job's adapter class (caps, wire sizes), reached without credentials; with a
        factory, the class of the adapter it makes."""
        if self.provider_factory is not None:
            return type(self.provider(job))
        return adapter_class(job.provider)

    def _make(self, job: JobRecord) -> Provider:
        if self.provider_factory is not None:
            return self.provider_factory(job)
        return open_provider(
            job.provider, sandbox_dir=self.data_dir / "sandbox", address=job_address(job)
        )


def job_address(job: JobRecord) -> HostAddress:
    """The user's own server a job was submitted to (`--base-url`, `--api-key-env`), if any."""
    return HostAddress.from_json(job.spec.get("host"))
