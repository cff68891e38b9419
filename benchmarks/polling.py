"""The polling cadence the baselines share with `batchgraph run`.

`batchgraph run --poll-max S` waits 0.5 s after its first check, then 1.5 times longer after each
further one, never more than S seconds (`runner.loop.Backoff(initial=0.5, cap=S)`). The baselines
poll with the same pauses so that neither side waits longer for the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator

INITIAL = 0.5
FACTOR = 1.5


def pauses(poll_max: float) -> Iterator[float]:
    """Seconds to sleep after the first check, the second, … (never above `poll_max`)."""
    pause = INITIAL
    while True:
        yield min(pause, poll_max)
        pause = min(pause * FACTOR, poll_max)
