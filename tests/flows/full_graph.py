"""The graph of the issue's done-when test: every shape of model call a flow must batch.

Two model steps in a row (extract, then classify with a schema), a fan-out of two calls in
parallel (`Send`), then a tool-calling agent loop (the model asks for a tool, `ToolNode` runs
it, the model answers after its result). Each thread takes five waves: extract, classify, the
two notes together, the tool call, the answer.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Send

from batchgraph.langchain import BatchChatModel

from .review_graph import LABELS

model = BatchChatModel()  # provider and model come from the flow (or are set for a plain run)
WAVES = 5


@tool
def stock_level(product: str) -> int:
    """How many of a product are in stock."""
    return len(product) * 7


class State(TypedDict, total=False):
    review: str
    facts: str
    label: dict[str, Any]
    notes: Annotated[list[str], operator.add]
    messages: Annotated[list[AnyMessage], add_messages]


class Angle(TypedDict):
    review: str
    angle: str


def extract(state: State) -> State:
    return {"facts": str(model.invoke(f"List the facts in: {state['review']}").content)}


def classify(state: State) -> State:
    return {"label": model.with_structured_output(LABELS).invoke(f"Classify: {state['facts']}")}


def angles(state: State) -> list[Send]:
    return [Send("note", Angle(review=state["review"], angle=a)) for a in ("praise", "blame")]


def note(state: Angle) -> State:
    answer = model.invoke(f"In one line, the {state['angle']} in: {state['review']}")
    return {"notes": [f"{state['angle']}: {answer.content}"]}


def ask(state: State) -> State:
    question = [HumanMessage(f"Is the product of this review in stock? {state['review']}")]
    history = state.get("messages") or question
    answer = model.bind_tools([stock_level]).invoke(history)
    return {"messages": [*([] if state.get("messages") else question), answer]}


builder = StateGraph(State)
builder.add_node("extract", extract)
builder.add_node("classify", classify)
builder.add_node("note", note)
builder.add_node("ask", ask)
builder.add_node("tools", ToolNode([stock_level]))
builder.add_edge(START, "extract")
builder.add_edge("extract", "classify")
builder.add_conditional_edges("classify", angles, ["note"])
builder.add_edge("note", "ask")
builder.add_conditional_edges("ask", tools_condition, ["tools", END])
builder.add_edge("tools", "ask")
graph = builder.compile()
