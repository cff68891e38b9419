"""The graphs `langgraph.json` gives a LangGraph server (`langgraph dev`).

The server brings its own checkpointer and store; batchgraph's store (`BATCHGRAPH_DB`, or
`.batchgraph/` under `BATCHGRAPH_HOME`) still holds each job's ledger, results and own thread,
and is opened when a graph first needs it.

- `batch_job`: `{"new_job": {...}}` creates a job on a new thread; later runs tick it.
- `batch_example`: a user's graph that embeds the batch subgraph (`example.py`).
"""

from __future__ import annotations

import threading

from batchgraph.api import Batchgraph
from batchgraph.langgraph import job_graph
from batchgraph.langgraph.example import topics_graph

_shared: list[Batchgraph] = []
_opening = threading.Lock()


def _open() -> Batchgraph:
    """One Batchgraph for both graphs, opened on first use."""
    with _opening:
        if not _shared:
            _shared.append(Batchgraph.open())
        return _shared[0]


batch_job = job_graph(_open)
batch_example = topics_graph(_open)
