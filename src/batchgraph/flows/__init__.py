"""A user's LangGraph graph over many inputs, every model call at batch price (`runner`)."""

from batchgraph.flows.runner import FlowRunner, create_flow

__all__ = ["FlowRunner", "create_flow"]
