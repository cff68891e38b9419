"""What the baselines share: the polling cadence of `batchgraph run`, and their command line.

`batchgraph run --poll-max S` waits 0.5 s after its first check, then 1.5 times longer after each
further one, never more than S seconds (`runner.loop.Backoff(initial=0.5, cap=S)`). The baselines
poll with the same pauses so that neither side waits longer for the same batches.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

INITIAL = 0.5
FACTOR = 1.5


def pauses(poll_max: float) -> Iterator[float]:
    """Seconds to sleep after the first check, the second, … (never above `poll_max`)."""
    pause = INITIAL
    while True:
        yield min(pause, poll_max)
        pause = min(pause * FACTOR, poll_max)


def main(run: Callable[[Path, Path, float], int]) -> None:
    """`python -m benchmarks.baseline_<provider> IN OUT [POLL_MAX]`: print the results written.

    The pauses are written here, not imported from batchgraph, so that a baseline loads nothing
    but its provider's SDK."""
    poll_max = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    print(run(Path(sys.argv[1]), Path(sys.argv[2]), poll_max))
