"""A tool-calling agent for the flow tests: LangGraph's prebuilt ReAct loop on BatchChatModel."""

from __future__ import annotations

from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

from batchgraph.langchain import BatchChatModel


@tool
def stock_level(product: str) -> int:
    """How many of a product are in stock."""
    return len(product) * 7


graph = create_react_agent(BatchChatModel(), [stock_level])
