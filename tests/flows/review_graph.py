"""A user's graph for the flow tests: two model steps in a row, then two calls in parallel."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from batchgraph.langchain import BatchChatModel

LABELS = {
    "type": "object",
    "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "negative", "mixed"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["sentiment", "urgent"],
    "additionalProperties": False,
}

model = BatchChatModel()  # provider and model come from the flow (or are set for a plain run)


class ReviewState(TypedDict, total=False):
    review: str
    facts: str
    label: dict[str, Any]
    notes: Annotated[list[str], operator.add]


class Angle(TypedDict):
    review: str
    angle: str


def extract(state: ReviewState) -> ReviewState:
    answer = model.invoke(f"List the facts in this review: {state['review']}")
    return {"facts": str(answer.content)}


def classify(state: ReviewState) -> ReviewState:
    label = model.with_structured_output(LABELS).invoke(f"Classify: {state['facts']}")
    return {"label": label}


def angles(state: ReviewState) -> list[Send]:
    return [Send("note", Angle(review=state["review"], angle=a)) for a in ("praise", "blame")]


def note(state: Angle) -> ReviewState:
    answer = model.invoke(f"In one line, the {state['angle']} in: {state['review']}")
    return {"notes": [f"{state['angle']}: {answer.content}"]}


builder = StateGraph(ReviewState)
builder.add_node("extract", extract)
builder.add_node("classify", classify)
builder.add_node("note", note)
builder.add_edge(START, "extract")
builder.add_edge("extract", "classify")
builder.add_conditional_edges("classify", angles, ["note"])
builder.add_edge("note", END)
graph = builder.compile()
