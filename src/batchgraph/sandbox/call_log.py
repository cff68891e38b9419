"""The log of every provider call a sandbox received — uploads, creations, status reads, model
lists, downloads, synchronous calls — whatever it answered. Tests prove from it that a job
never contacted the provider (a job answered from the result cache), which neither the
creations log nor the synchronous-call log can show.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One HTTP call to a provider's routes: when, which provider, method and path."""

    at: float
    provider: str
    method: str
    path: str

    def to_json(self) -> dict[str, object]:
        return {"at": self.at, "provider": self.provider, "method": self.method, "path": self.path}


class CallLog:
    """Every provider call of one server, oldest first, in memory (thread-safe)."""

    def __init__(self) -> None:
        self._calls: list[ProviderCall] = []
        self._lock = threading.Lock()

    def record(self, call: ProviderCall) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self, provider: str | None = None) -> list[ProviderCall]:
        with self._lock:
            return [c for c in self._calls if provider is None or c.provider == provider]
