"""The job graph for `langgraph dev` / LangGraph servers (see `langgraph.json`).

The server brings its own checkpointer; our store (from `BATCHGRAPH_DB`, or `.batchgraph/` in
the server's working directory) still holds the ledger and results. Drive it with input
`{"new_job": {"input": ..., "provider": ..., "read": {...}}}` on a new thread, then `{}` until
`report` appears in the thread's state. Use the default `multitask_strategy` ("enqueue") or
"reject": "interrupt" and "rollback" can orphan a batch being created.
"""

from __future__ import annotations

from batchgraph.api import Batchgraph
from batchgraph.graph.build import build_graph

graph = build_graph(Batchgraph.open().deps).compile()
