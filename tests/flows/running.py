"""Shared by the flow tests: the sandbox providers' models, and a flow run to its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.pregel import Pregel

from batchgraph.api import Batchgraph
from batchgraph.flows import FlowRunner, create_flow
from batchgraph.store.base import FlowRecord

MODELS = {
    "sandbox-openai": "gpt-4o-mini",
    "sandbox-anthropic": "claude-haiku-4-5",
    "sandbox-mistral": "mistral-small-latest",
}


def run_to_end(
    reference: str, graph: Pregel[Any, Any, Any, Any], source: Path, provider: str, threads: int
) -> tuple[FlowRecord, list[dict[str, Any]]]:
    """A flow of `graph` over `source`, ticked until done: the flow and each thread's state."""
    with Batchgraph.open() as bg:
        flow_id = create_flow(bg, graph=reference, input=source, provider=provider,
                              model=MODELS[provider])  # fmt: skip
        runner = FlowRunner(bg, flow_id, graph)
        while runner.tick().status != "done":
            pass
        return bg.store.get_flow(flow_id), [runner.final_state(n) for n in range(threads)]
