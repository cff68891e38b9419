"""The job graph and a user's graph through `langgraph dev`, driven over HTTP with
`langgraph_sdk` from another directory: no CLI, no shared files."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from batchgraph.sandbox.storage import read_creations
from tests.patience import HANG_S

from ..graph.conftest import MODELS, PROVIDERS
from .conftest import LangGraphServer

ROUNDS = 20
"""Runs a test allows a job to finish in; with batches that end at once it takes two or three."""


def finish(client: Any, thread: str, graph: str) -> dict[str, Any]:
    """Resume the waiting thread until its run ends without an interrupt; its final values."""
    for _ in range(ROUNDS):
        state = client.threads.get_state(thread)
        if not state["interrupts"]:
            return dict(state["values"])
        client.runs.wait(thread, graph, command={"resume": True})
    raise AssertionError(f"thread {thread} still waits after {ROUNDS} runs")


def refusal(client: Any, new_job: dict[str, Any]) -> str:
    """The message a client gets for a job the graph refuses."""
    thread = client.threads.create()["thread_id"]
    with pytest.raises(Exception) as refused:
        client.runs.wait(thread, "batch_job", input={"new_job": new_job})
    return str(refused.value)


def test_inline_job_is_approved_streamed_and_its_3000_results_paged_from_the_store(
    langgraph_server: LangGraphServer,
) -> None:
    client: Any = langgraph_server.client()
    thread = client.threads.create()["thread_id"]
    prompts = [f"Is {n} an even number?" for n in range(3000)]
    new_job = {"requests": prompts, "provider": "sandbox-openai", "model": "gpt-4o-mini",
               "approve_cost": True}  # fmt: skip

    client.runs.wait(thread, "batch_job", input={"new_job": new_job})
    (question,) = client.threads.get_state(thread)["interrupts"]
    assert question["value"]["kind"] == "approve_cost"
    assert question["value"]["estimate"]["requests"] == 3000
    assert read_creations(langgraph_server.home / "sandbox", "openai") == []

    stream = client.runs.stream(thread, "batch_job", command={"resume": True}, stream_mode="custom")
    events = [part.data for part in stream if part.event == "custom"]
    kinds = [event["event"] for event in events]
    assert kinds[:3] == ["approved", "created", "submitted"]
    assert events[2]["requests"] == 3000 and events[2]["batch_id"]

    values = finish(client, thread, "batch_job")
    assert values["status"] == "done"
    assert values["report"]["counts"]["succeeded"] == 3000
    assert values["results"] is None  # too many to carry in state
    ref = values["results_ref"]
    assert ref["count"] == 3000 and ref["pages"] == 30

    records: list[dict[str, Any]] = []
    for offset in range(0, ref["pages"], 10):
        page = client.store.search_items(ref["namespace"], limit=10, offset=offset)["items"]
        for item in sorted(page, key=lambda item: item["key"]):
            records += item["value"]["records"]
    assert [r["id"] for r in records] == [str(n) for n in range(3000)]
    assert all(r["status"] == "succeeded" and r["text"] for r in records)
    assert len(read_creations(langgraph_server.home / "sandbox", "openai")) == 1


def test_declining_the_estimate_sends_nothing(langgraph_server: LangGraphServer) -> None:
    client: Any = langgraph_server.client()
    thread = client.threads.create()["thread_id"]
    new_job = {"requests": ["Say hi"], "provider": "sandbox-mistral",
               "model": "mistral-small-latest", "approve_cost": True}  # fmt: skip

    client.runs.wait(thread, "batch_job", input={"new_job": new_job})
    final = client.runs.wait(thread, "batch_job", command={"resume": False})

    assert final["status"] == "cancelled"
    assert not client.threads.get_state(thread)["interrupts"]
    assert read_creations(langgraph_server.home / "sandbox", "mistral") == []


def test_small_job_polled_with_empty_input_carries_its_results_in_state(
    langgraph_server: LangGraphServer,
) -> None:
    client: Any = langgraph_server.client()
    thread = client.threads.create()["thread_id"]
    lines = [{"id": f"q{n}", "prompt": f"Is {n} even?"} for n in range(12)]
    new_job = {"requests": lines, "provider": "sandbox-anthropic",
               "read": {"model": "claude-haiku-4-5"}}  # fmt: skip

    first = client.runs.wait(thread, "batch_job", input={"new_job": new_job})
    for _ in range(ROUNDS):  # new input on a waiting thread ticks the same job
        if client.threads.get_state(thread)["values"].get("report"):
            break
        client.runs.wait(thread, "batch_job", input={})
    values = client.threads.get_state(thread)["values"]

    assert values["job_id"] == first["job_id"]
    assert [r["id"] for r in values["results"]] == [f"q{n}" for n in range(12)]
    assert values["report"]["accounted"] is True
    assert len(read_creations(langgraph_server.home / "sandbox", "anthropic")) == 1


def test_clients_get_the_real_message_for_bad_input(langgraph_server: LangGraphServer) -> None:
    client: Any = langgraph_server.client()
    base = {"provider": "sandbox-openai", "model": "gpt-4o-mini"}

    bad_line = refusal(client, {**base, "requests": ["fine", {"id": "x"}, {"prompt": 3}]})
    missing = refusal(client, {**base, "input": "/no/such/prompts.jsonl"})
    misplaced = refusal(client, {**base, "requests": ["hi"], "system": "Be brief."})
    unknown = refusal(client, {**base, "requests": ["hi"], "max_attempt": 2})

    assert "2 bad lines" in bad_line and "line 2" in bad_line and "line 3" in bad_line
    assert 'missing "prompt"' in bad_line
    assert "/no/such/prompts.jsonl does not exist" in missing
    assert "new_job.system is a reader option — put it under new_job.read" in misplaced
    assert "unknown key 'max_attempt' — did you mean 'max_attempts'?" in unknown
    assert "internal error" not in bad_line + missing + misplaced + unknown
    assert read_creations(langgraph_server.home / "sandbox", "openai") == []


def test_both_graphs_publish_input_and_output_schemas(
    langgraph_server: LangGraphServer,
) -> None:
    client: Any = langgraph_server.client()
    for graph in ("batch_job", "batch_example"):
        (assistant,) = client.assistants.search(graph_id=graph)
        schemas = client.assistants.get_schemas(assistant["assistant_id"])
        assert schemas["input_schema"] is not None, graph
        assert schemas["output_schema"] is not None, graph
    (job,) = client.assistants.search(graph_id="batch_job")
    job_input = client.assistants.get_schemas(job["assistant_id"])["input_schema"]
    assert "requests" in job_input["$defs"]["NewJob"]["properties"]


def test_user_graph_with_the_subgraph_runs_two_phase_on_every_provider(
    langgraph_server: LangGraphServer,
) -> None:
    client: Any = langgraph_server.client()
    topics = ["tides", "rainbows", "magnets", "volcanoes"]
    for provider in PROVIDERS:
        thread = client.threads.create()["thread_id"]
        start = {"topics": topics, "provider": f"sandbox-{provider}", "model": MODELS[provider]}

        first = client.runs.wait(thread, "batch_example", input=start)
        assert "answers" not in first  # the run ended while the batch runs
        assert client.threads.get_state(thread)["interrupts"][0]["value"]["kind"] == "waiting"
        values = finish(client, thread, "batch_example")

        assert set(values["answers"]) == set(topics), provider
        assert values["summary"] == {"topics": 4, "succeeded": 4}
        assert len(read_creations(langgraph_server.home / "sandbox", provider)) == 1


CRON_PATIENCE_SECONDS = HANG_S
"""A cron fires at minute boundaries: a generous bound for it to fire and finish the job."""


@pytest.mark.slow
def test_a_cron_on_the_thread_finishes_the_job_with_no_client_running(
    langgraph_server: LangGraphServer,
) -> None:
    client: Any = langgraph_server.client()
    thread = client.threads.create()["thread_id"]
    new_job = {"requests": ["Say hi", "Say bye"], "provider": "sandbox-openai",
               "model": "gpt-4o-mini"}  # fmt: skip
    client.runs.wait(thread, "batch_job", input={"new_job": new_job})

    cron = client.crons.create_for_thread(thread, "batch_job", schedule="* * * * *", input={})
    try:
        deadline = time.monotonic() + CRON_PATIENCE_SECONDS
        while time.monotonic() < deadline:
            values = client.threads.get_state(thread)["values"]
            if values.get("report"):
                break
            time.sleep(2)
    finally:
        client.crons.delete(cron["cron_id"])

    assert values["status"] == "done"
    assert [r["status"] for r in values["results"]] == ["succeeded", "succeeded"]
    assert len(read_creations(langgraph_server.home / "sandbox", "openai")) == 1


def uploads(home: Path) -> tuple[int, int]:
    """Batch input files the sandbox received, and how many of them were deleted since."""
    with sqlite3.connect(home / "sandbox" / "sandbox.sqlite3") as db:
        row = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(deleted), 0) FROM files WHERE purpose = 'batch'"
        ).fetchone()
    return int(row[0]), int(row[1])


def test_server_submits_one_chunk_at_a_time_uploading_each_once(
    langgraph_server: LangGraphServer,
) -> None:
    client: Any = langgraph_server.client()
    thread = client.threads.create()["thread_id"]
    new_job = {"requests": [f"Is {n} prime?" for n in range(300)], "batch_size": 10,
               "provider": "sandbox-openai", "model": "gpt-4o-mini"}  # fmt: skip

    first = client.runs.wait(thread, "batch_job", input={"new_job": new_job})

    assert len(first["chunks"]) == 30
    assert all(chunk["batch_id"] for chunk in first["chunks"].values())
    assert uploads(langgraph_server.home) == (30, 0)
    assert len(read_creations(langgraph_server.home / "sandbox", "openai")) == 30
