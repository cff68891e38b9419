"""The log of synchronous API calls a sandbox answered: when, which provider and model, and the
HTTP status. Tests measure rate limits from it (calls per window, as the client really sent
them), and the OpenRouter personality counts its per-minute and per-day quotas on it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

SYNC_PATHS = ("/v1/chat/completions", "/v1/embeddings", "/v1/messages")
"""The synchronous endpoints, as the ends of their paths under any provider's prefix."""


@dataclass(frozen=True, slots=True)
class SyncCall:
    """One synchronous call (chat completion, message, embedding) and how it was answered."""

    at: float
    provider: str
    path: str
    model: str | None
    status: int

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "provider": self.provider,
            "path": self.path,
            "model": self.model,
            "status": self.status,
        }


class SyncLog:
    """Every synchronous call of one server, oldest first, in memory (thread-safe)."""

    def __init__(self) -> None:
        self._calls: list[SyncCall] = []
        self._lock = threading.Lock()

    def record(self, call: SyncCall) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self, provider: str | None = None) -> list[SyncCall]:
        with self._lock:
            return [c for c in self._calls if provider is None or c.provider == provider]

    def answered_in_window(self, provider: str, now: float, window: float, free: bool) -> int:
        """Calls answered 200 in the fixed window (aligned to the epoch) holding `now`,
        counting only `:free` models when `free`."""
        start = math.floor(now / window) * window
        count = 0
        with self._lock:
            for call in reversed(self._calls):  # appended in time order: stop at the start
                if call.at < start:
                    break
                free_ok = not free or (call.model or "").endswith(":free")
                count += call.provider == provider and call.status == 200 and free_ok
        return count


def window_end(now: float, window: float) -> float:
    """When the fixed window holding `now` ends (Unix seconds)."""
    return (math.floor(now / window) + 1) * window
