"""Where a `batchgraph run` spent its time, read back from the store after the run.

No timer inside batchgraph is needed: the job's `created_at` is stamped when the input starts
to be validated and stored (one pass, one transaction), and LangGraph saves a checkpoint (with
its time) after every step of the graph, so the gap between two checkpoints is the time of the
nodes that ran between them. The process's own start and end (measured by the parent) close the
first and last gaps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import pairwise
from pathlib import Path

NODE_PHASES = {
    "plan": "plan",
    "submit_chunk": "upload (submit)",
    "collect_chunk": "check + collect",
    "settle": "settle + report",
    "report": "settle + report",
}
ORDER = (
    "start-up",
    "validate + store the ledger",
    "plan",
    "upload (submit)",
    "check + collect",
    "settle + report",
    "pauses between polls",
    "write results",
)


def job_phases(db: Path, started: float, ended: float) -> dict[str, float]:
    """Seconds per phase of the only job in the store at `db`, in `ORDER`."""
    from batchgraph.api import Batchgraph
    from batchgraph.graph.tick import thread_config

    with Batchgraph.open(db=str(db)) as bg:
        (job,) = bg.jobs()
        history = list(bg.graph.get_state_history(thread_config(job.id)))
    steps = sorted(
        (datetime.fromisoformat(snap.created_at).timestamp(), snap.next)
        for snap in history
        if snap.created_at
    )
    spent: dict[str, float] = defaultdict(float)
    spent["start-up"] = job.created_at - started
    spent["validate + store the ledger"] = steps[0][0] - job.created_at
    for (at, nodes), (after, _) in pairwise(steps):
        phase = NODE_PHASES.get(nodes[0], "pauses between polls") if nodes else None
        spent[phase or "pauses between polls"] += after - at
    spent["write results"] = ended - steps[-1][0]
    return {phase: spent.get(phase, 0.0) for phase in ORDER}
