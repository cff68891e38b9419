"""What graph nodes need besides state: the store and a way to reach each job's provider."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from batchgraph.providers import adapter_class, open_provider
from batchgraph.providers.base import Provider
from batchgraph.store.base import JobRecord, Store

ProviderFactory = Callable[[JobRecord], Provider]


@dataclass
class Deps:
    """Resolved once per process and handed to `build_graph`; nodes never read globals."""

    store: Store
    data_dir: Path
    provider_factory: ProviderFactory | None = None
    _providers: dict[str, Provider] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def provider(self, job: JobRecord) -> Provider:
        """The job's provider adapter, made once per job (nodes run in several threads)."""
        with self._lock:
            adapter = self._providers.get(job.id)
            if adapter is None:
                adapter = self._make(job)
                self._providers[job.id] = adapter
            return adapter

    def provider_class(self, job: JobRecord) -> type[Provider]:
        """The job's adapter class (caps, wire sizes), reached without credentials; with a
        factory, the class of the adapter it makes."""
        if self.provider_factory is not None:
            return type(self.provider(job))
        return adapter_class(job.provider)

    def _make(self, job: JobRecord) -> Provider:
        if self.provider_factory is not None:
            return self.provider_factory(job)
        return open_provider(job.provider, sandbox_dir=self.data_dir / "sandbox")
