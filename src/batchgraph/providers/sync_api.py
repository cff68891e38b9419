"""The synchronous side of a provider: one request in, one `Result` out, on the SDK's async
client. Used by the synchronous executor (`executors.sync`) for hosts without a Batch API,
`--mode sync` and deadline hedging.

A `SyncClient` sends exactly one HTTP call per `call` (its SDK's own retries are off): the
executor decides when to send again, so it can honour `Retry-After`, back off, and count
what was sent. A call ends in one of three ways:

- a `Result` — succeeded, or failed for good (the provider refused this request: a 4xx);
- `CallFailure` — worth sending again (429, 5xx, timeout, no connection), with the wait the
  provider asked for, if any;
- `HostStopped` (from `errors`) — no call will succeed until the user acts (a daily quota,
  no credits, a feature the host refuses): the executor stops and the job stays resumable.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from batchgraph.model import Outcome, ProviderError, Request, Result
from batchgraph.providers.base import WireItem

SYNC_BATCH_ID = "sync"
"""The `batch_id` of a result that came from a synchronous call."""

CALL_TIMEOUT = 600.0
"""Seconds one call may take before it counts as timed out (and is sent again)."""

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
"""Client-side statuses worth sending again (with every 5xx and a missing response)."""


@dataclass(frozen=True, slots=True)
class HostPace:
    """How hard a host may be pressed by default (a job's own choices override it)."""

    concurrency: int = 32
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None


class CallFailure(Exception):
    """A call that may succeed when sent again; `retry_after` is the provider's wish (s)."""

    def __init__(
        self, error: ProviderError, status: int | None, retry_after: float | None = None
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


def is_retryable_status(status: int | None) -> bool:
    """No response (timeout, connection), 5xx, or a client status worth another try."""
    return status is None or status >= 500 or status in RETRYABLE_STATUSES


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a response asks for: `retry-after-ms`, else `Retry-After` in seconds."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            continue  # an HTTP date: rare from APIs; the executor's backoff applies
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def refused(custom_id: str, error: ProviderError) -> Result:
    """A request the provider refused for good (not sent again by any round)."""
    return Result(custom_id, Outcome.FAILED, SYNC_BATCH_ID, error=error)


def estimated_tokens(request: Request) -> int:
    """Tokens a request may use, for a tokens-per-minute limit: about four characters per
    input token, plus the answer's limit (or 256 when it names none)."""
    chars = sum(len(str(m.get("content", ""))) for m in request.messages)
    chars += len(request.system or "") + len(request.input or "")
    return math.ceil(chars / 4) + (request.max_tokens or 256)


class SyncClient(ABC):
    """One provider's synchronous API on its official SDK's async client."""

    provider: str

    @abstractmethod
    async def call(self, item: WireItem) -> Result:
        """Send the item once; see the module docstring for how it ends."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close the client's connections."""
