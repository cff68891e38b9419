"""The synchronous executor's rate limiter, on its own clock: however late the machine runs
the callers, no window of the limit's length ever holds more sends than the limit, and a 429's
pause holds every caller back.

Load can only make a grant later than the limiter allows, never earlier, so these checks do
not depend on the machine's speed.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from batchgraph.executors.limits import Rate, RateLimiter


def most_in_any_window(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


async def grants(limiter: RateLimiter, callers: int, calls_each: int) -> list[float]:
    granted: list[float] = []

    async def caller() -> None:
        for _ in range(calls_each):
            await limiter.acquire()
            granted.append(time.monotonic())

    await asyncio.gather(*(caller() for _ in range(callers)))
    return granted


def test_no_window_ever_holds_more_sends_than_the_limit() -> None:
    limit = Rate(count=5, seconds=0.2)
    granted = asyncio.run(grants(RateLimiter(requests=limit), callers=8, calls_each=4))
    assert len(granted) == 32
    assert most_in_any_window(granted, limit.seconds) == limit.count


def test_without_a_limit_the_same_callers_bunch() -> None:
    """The check above can fail: unlimited, the same 32 calls land in one window."""
    granted = asyncio.run(grants(RateLimiter(), callers=8, calls_each=4))
    assert most_in_any_window(granted, 0.2) > 5


def test_a_retry_after_pause_holds_every_caller_back() -> None:
    limiter = RateLimiter(requests=Rate(count=100, seconds=1.0))

    async def paused() -> list[float]:
        limiter.pause_for(0.3)
        return await grants(limiter, callers=4, calls_each=1)

    started = time.monotonic()
    granted = asyncio.run(paused())
    assert min(granted) - started >= 0.3


def test_a_rate_needs_a_positive_count_and_window() -> None:
    with pytest.raises(ValueError, match="positive"):
        Rate(count=0)
