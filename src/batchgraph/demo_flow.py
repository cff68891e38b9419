"""The demo's own LangGraph graph: extract a review's facts, then label them with a schema.

`make demo` runs it over 1,000 reviews as a flow (`batchgraph flow run
batchgraph.demo_flow:graph …`): two model steps, so two waves of batches.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from batchgraph.langchain import BatchChatModel

LABEL = {
    "type": "object",
    "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral", "mixed"]},
        "needs_reply": {"type": "boolean"},
    },
    "required": ["sentiment", "needs_reply"],
    "additionalProperties": False,
}

model = BatchChatModel(max_tokens=120)  # the flow gives the provider and the model


class Review(TypedDict, total=False):
    id: str
    text: str
    facts: str
    label: dict[str, Any]


def extract(state: Review) -> Review:
    answer = model.invoke(f"List the facts this customer states, one per line:\n\n{state['text']}")
    return {"facts": str(answer.content)}


def label(state: Review) -> Review:
    labeller = model.with_structured_output(LABEL)
    return {
        "label": labeller.invoke(f"Label the review these facts come from:\n\n{state['facts']}")
    }


builder = StateGraph(Review)
builder.add_node("extract", extract)
builder.add_node("label", label)
builder.add_edge(START, "extract")
builder.add_edge("extract", "label")
builder.add_edge("label", END)
graph = builder.compile()
