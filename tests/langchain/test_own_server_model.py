"""`BatchChatModel` on the user's own OpenAI-compatible server (`base_url=`), over real HTTP to
the sandbox's local-server personality: `.batch`, `.invoke`, `wrap` of a `ChatOpenAI` pointed
at the server, and a flow; a wrong address is refused when the model is made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from batchgraph.api import Batchgraph
from batchgraph.cli import app
from batchgraph.errors import ConfigError
from batchgraph.langchain import BatchChatModel
from batchgraph.sandbox.server import SandboxHandle

MODEL = "llama3.1:8b"
GRAPH = Path(__file__).parents[1] / "flows" / "review_graph.py"


def on_local(sandbox: SandboxHandle) -> BatchChatModel:
    url = sandbox.base_url("local")
    return BatchChatModel(provider="openai-compatible", base_url=url, model=MODEL)


def test_batch_and_invoke_reach_the_server_the_model_names(
    home: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    model = on_local(batchgraph_sandbox)

    answers = model.batch(["Is 3 odd?", "Is 4 odd?"])
    one = model.invoke("Is 5 odd?")

    assert all(isinstance(a, AIMessage) and a.content for a in [*answers, one])
    local = batchgraph_sandbox.sync_calls("local")
    assert len(local) == 3 and {c.model for c in local} == {MODEL}
    with Batchgraph.open() as bg:
        (job,) = bg.jobs()
    assert job.provider == "openai-compatible"
    assert job.spec["host"]["base_url"] == batchgraph_sandbox.base_url("local")


def test_wrap_of_a_chat_openai_on_another_server_stays_on_that_server(
    home: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    from langchain_openai import ChatOpenAI

    url = batchgraph_sandbox.base_url("local")
    wrapped = BatchChatModel.wrap(ChatOpenAI(model=MODEL, base_url=url, api_key="unused"))
    answers = wrapped.batch(["Hello?"])

    assert (wrapped.provider, wrapped.base_url) == ("openai-compatible", url)
    assert isinstance(answers[0], AIMessage) and answers[0].content
    assert len(batchgraph_sandbox.sync_calls("local")) == 1
    plain = BatchChatModel.wrap(ChatOpenAI(model="gpt-4o-mini", api_key="unused"))
    assert (plain.provider, plain.base_url) == ("openai", None)
    official = ChatOpenAI(model="gpt-4o-mini", base_url="https://api.openai.com/v1", api_key="u")
    assert BatchChatModel.wrap(official).provider == "openai"


def test_an_address_that_does_not_fit_the_provider_is_refused_when_the_model_is_made() -> None:
    with pytest.raises(ConfigError, match=r"add --base-url URL .*base_url= in Python"):
        BatchChatModel(provider="openai-compatible", model=MODEL)
    with pytest.raises(ConfigError, match="belong to --provider openai-compatible"):
        BatchChatModel(provider="openai", model="gpt-4o-mini", base_url="http://localhost:1/v1")
    with pytest.raises(ConfigError, match="nosuch"):
        BatchChatModel(provider="nosuch", model="m")


def test_a_flow_sends_its_models_calls_to_the_server_it_was_given(
    home: Path, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"review": f"Lamp {n} flickers."}) + "\n"
                              for n in range(3)))  # fmt: skip
    url = batchgraph_sandbox.base_url("local")

    ran = CliRunner().invoke(app, ["flow", "run", f"{GRAPH}:graph", str(source),
                                   "-p", "openai-compatible", "--base-url", url, "-m", MODEL,
                                   "--poll-max", "0.1"])  # fmt: skip

    assert ran.exit_code == 0, ran.output
    assert "3 threads (3 done) in 3 waves" in ran.stdout
    assert len(batchgraph_sandbox.sync_calls("local")) == 12  # 4 calls a thread
    refused = CliRunner().invoke(app, ["flow", "run", f"{GRAPH}:graph", str(source),
                                       "-p", "openai-compatible", "-m", MODEL])  # fmt: skip
    assert refused.exit_code == 2 and "add --base-url URL" in refused.output
