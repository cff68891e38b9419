"""`BatchChatModel.batch`: many LangChain calls as one durable job at batch price."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from batchgraph.api import Batchgraph
from batchgraph.langchain import BatchChatModel
from batchgraph.sandbox.storage import read_creations

MODELS = {
    "sandbox-openai": "gpt-4o-mini",
    "sandbox-anthropic": "claude-haiku-4-5",
    "sandbox-mistral": "mistral-small-latest",
}


def questions(count: int) -> list[list[object]]:
    return [
        [SystemMessage("Answer briefly."), HumanMessage(f"Is {n} an even number?")]
        for n in range(count)
    ]


def test_batch_returns_one_message_per_input_in_order_through_one_job(home: Path) -> None:
    model = BatchChatModel(provider="sandbox-openai", model="gpt-4o-mini", temperature=0)

    answers = model.batch(questions(1000))

    assert len(answers) == 1000
    assert all(isinstance(a, AIMessage) and a.content for a in answers)
    assert all(a.usage_metadata and a.usage_metadata["output_tokens"] > 0 for a in answers)
    with Batchgraph.open() as bg:
        (job,) = bg.jobs()
    assert {a.response_metadata["batchgraph_job"] for a in answers} == {job.id}
    # The same question always gets the same synthetic answer: order is checked by content.
    again = model.batch([questions(1000)[7], questions(1000)[3]])
    assert [a.content for a in again] == [answers[7].content, answers[3].content]


def test_the_same_batch_twice_is_one_job_and_one_payment(home: Path) -> None:
    model = BatchChatModel(provider="sandbox-anthropic", model="claude-haiku-4-5")
    first = model.batch(["Hello?", "Goodbye?"])
    created = len(read_creations(home / "sandbox"))

    second = model.batch(["Hello?", "Goodbye?"])

    assert [m.content for m in second] == [m.content for m in first]
    assert len(read_creations(home / "sandbox")) == created


def test_submit_batch_returns_at_once_and_collect_gives_the_answers(home: Path) -> None:
    model = BatchChatModel(provider="sandbox-mistral", model="mistral-small-latest")

    job_id = model.submit_batch(["one?", "two?", "three?"])
    answers = model.collect(job_id, wait=True)

    assert answers is not None and len(answers) == 3
    assert all(isinstance(a, AIMessage) for a in answers)


class Verdict(BaseModel):
    sentiment: str
    score: int


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_structured_output_returns_parsed_objects(home: Path, provider: str) -> None:
    model = BatchChatModel(provider=provider, model=MODELS[provider])

    verdicts = model.with_structured_output(Verdict).batch(["Great kettle", "Broke at once"])

    assert [type(v) for v in verdicts] == [Verdict, Verdict]
    assert all(isinstance(v.score, int) for v in verdicts)


def test_abatch_is_the_same_job_as_batch(home: Path) -> None:
    model = BatchChatModel(provider="sandbox-openai", model="gpt-4o-mini")

    answers = asyncio.run(model.abatch(["a?", "b?"]))

    assert [m.content for m in answers] == [m.content for m in model.batch(["a?", "b?"])]


def test_invoke_outside_a_flow_calls_the_synchronous_api_and_creates_no_batch(
    home: Path,
) -> None:
    model = BatchChatModel(provider="sandbox-openai", model="gpt-4o-mini")

    answer = model.invoke("Is 4 even?")

    assert isinstance(answer, AIMessage) and answer.content
    assert answer.usage_metadata and answer.usage_metadata["input_tokens"] > 0
    assert read_creations(home / "sandbox") == []
    assert answer.content == model.batch(["Is 4 even?"])[0].content  # the same answer, by batch


def test_wrap_takes_the_settings_of_a_configured_langchain_model(home: Path) -> None:
    from langchain_anthropic import ChatAnthropic
    from langchain_mistralai import ChatMistralAI
    from langchain_openai import ChatOpenAI

    configured = [
        ChatOpenAI(model="gpt-4o-mini", temperature=0.2, max_tokens=50, api_key="unused"),
        ChatAnthropic(model="claude-haiku-4-5", temperature=0.1, max_tokens=60, api_key="unused"),
        ChatMistralAI(model="mistral-small-latest", temperature=0.3, max_tokens=70, api_key="u"),
    ]
    for chat in configured:
        wrapped = BatchChatModel.wrap(chat)
        offline = BatchChatModel.wrap(chat, provider=f"sandbox-{wrapped.provider}")
        answers = offline.batch(["Hello?"])

        assert wrapped.provider in ("openai", "anthropic", "mistral")
        assert (offline.temperature, offline.max_tokens) == (chat.temperature, chat.max_tokens)  # type: ignore[attr-defined]
        assert isinstance(answers[0], AIMessage) and answers[0].content
        with Batchgraph.open() as bg:
            job = bg.jobs()[0]
            (row,) = list(bg.ledger(job.id))
        assert (row.request.temperature, row.request.max_tokens) == (
            offline.temperature,
            offline.max_tokens,
        )
