"""Client-side rate limits for synchronous calls: requests and tokens per window.

Requests are limited with a sliding log of send times — never more than `count` sends in any
`seconds`-long span — so a host that counts calls in fixed windows (OpenRouter counts per
minute) never sees more than its limit from us, however the calls bunch. Tokens use a bucket
refilled evenly. A 429's `Retry-After` pauses every caller, not only the one refused.

The limiter lives as long as the process (not one run of the executor), so a job advanced in
several steps keeps its pace across them.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` per `seconds`."""

    count: float
    seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.count <= 0 or self.seconds <= 0:
            raise ValueError(f"a rate needs a positive count and window, not {self}")


class RateLimiter:
    """Waits before each call until both limits allow it (and any pause has passed)."""

    def __init__(self, requests: Rate | None = None, tokens: Rate | None = None) -> None:
        self.requests = requests
        self.tokens = tokens
        self._sent: deque[float] = deque()
        self._bucket = float(tokens.count) if tokens else 0.0
        self._filled_at = time.monotonic()
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def pause_for(self, seconds: float) -> None:
        """Hold every caller back for `seconds` from now (a 429's Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self, tokens: int = 0) -> None:
        """Return when a call using about `tokens` tokens may be sent now."""
        async with self._fifo():
            while True:
                wait = self._wait(tokens, time.monotonic())
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            now = time.monotonic()
            if self.requests is not None:
                self._sent.append(now)
            if self.tokens is not None:
                self._bucket -= min(tokens, self.tokens.count)

    def _fifo(self) -> asyncio.Lock:
        """One lock per event loop: callers wait their turn in order."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    def _wait(self, tokens: int, now: float) -> float:
        """Seconds to wait before the call may go (0 when it may go now)."""
        wait = self._paused_until - now
        if self.requests is not None:
            window = self.requests.seconds
            while self._sent and now - self._sent[0] >= window:
                self._sent.popleft()
            if len(self._sent) >= self.requests.count:
                wait = max(wait, self._sent[0] + window - now)
        if self.tokens is not None:
            rate = self.tokens.count / self.tokens.seconds
            self._bucket = min(self.tokens.count, self._bucket + (now - self._filled_at) * rate)
            self._filled_at = now
            need = min(tokens, self.tokens.count) - self._bucket
            if need > 0:
                wait = max(wait, need / rate)
        return wait
