"""Straggling requests: a batch holding them never ends by itself; cancelling it gives back
every other request's answer and the stragglers as cancelled."""

from __future__ import annotations

import time

from openai import OpenAI
from sandbox_support import chat_line, read_lines, upload

from batchgraph.sandbox import SandboxHandle


def test_straggling_batch_runs_until_cancelled_then_returns_the_rest(
    openai_client: OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(straggle_ids=r"^s-")
    lines = [chat_line(f"r-{i}") for i in range(6)] + [chat_line(f"s-{i}") for i in range(2)]
    batch = openai_client.batches.create(
        input_file_id=upload(openai_client, lines),
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    time.sleep(0.05)
    running = openai_client.batches.retrieve(batch.id)
    assert running.status == "in_progress"
    openai_client.batches.cancel(batch.id)
    ended = openai_client.batches.retrieve(batch.id)
    assert ended.status == "cancelled"
    done = {line["custom_id"] for line in read_lines(openai_client, ended.output_file_id)}
    unrun = {line["custom_id"] for line in read_lines(openai_client, ended.error_file_id)}
    assert done == {f"r-{i}" for i in range(6)}
    assert unrun == {"s-0", "s-1"}


def test_straggle_rate_marks_about_that_share_of_requests(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    from batchgraph.sandbox.fate import Fates

    fates = Fates(batchgraph_sandbox.configure(straggle_rate=0.1))
    stragglers = sum(fates.straggles(str(i)) for i in range(2000))
    assert 150 < stragglers < 250
    assert not any(fates.finished(str(i), 1.0) for i in range(2000) if fates.straggles(str(i)))
