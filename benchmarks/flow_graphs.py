"""The two-step graph the flow benchmark runs, on either chat model (a child process imports it).

`graph` asks a `BatchChatModel` (so it runs as a flow); `immediate_graph` is the same graph on
a model that answers at once, for LangGraph's own cost of the same work with the same saver.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.graph import END, START, StateGraph

from batchgraph.langchain import BatchChatModel


class Review(TypedDict, total=False):
    text: str
    facts: str
    verdict: str


def build(model: BaseChatModel) -> Any:
    def extract(state: Review) -> Review:
        return {"facts": str(model.invoke(f"Facts in: {state['text']}").content)}

    def judge(state: Review) -> Review:
        return {"verdict": str(model.invoke(f"Verdict on: {state['facts']}").content)}

    builder = StateGraph(Review)
    builder.add_node("extract", extract)
    builder.add_node("judge", judge)
    builder.add_edge(START, "extract")
    builder.add_edge("extract", "judge")
    builder.add_edge("judge", END)
    return builder


graph = build(BatchChatModel()).compile()
immediate_graph = build(FakeListChatModel(responses=["an answer of a few words"]))
