"""Every kind of body the OpenAI part of the sandbox sends, checked against OpenAI's published
schemas (`tests/specs/openai`), and nothing else.

What the sandbox *does* (states, counts, faults, paging) is checked in `test_openai_sandbox.py`;
this module only asks whether each body has the shape the real API gives it, so a schema
change and a behaviour change fail different tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from sandbox_support import SpecValidator, chat_line, openai_lines_spec, openai_spec, read_lines
from sandbox_support import upload as upload_lines

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxConfig, SandboxHandle, run_sandbox

Bodies = Iterator[tuple[str, Any]]
"""(schema name, body) pairs: a schema of the API spec, or `line:` + one of the batch lines."""


def raw_json(sandbox: SandboxHandle, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    return httpx.get(sandbox.base_url("openai") + path, headers=headers, params=params).json()


def create(client: OpenAI, lines: list[Any], **extra: Any) -> Any:
    return client.batches.create(
        input_file_id=upload_lines(client, lines),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        **extra,
    )


def a_batch_from_upload_to_output(client: OpenAI, sandbox: SandboxHandle, _: Path) -> Bodies:
    file_id = upload_lines(client, [chat_line(f"req-{i}") for i in range(20)])
    yield "OpenAIFile", raw_json(sandbox, f"/files/{file_id}")
    created = client.batches.create(
        input_file_id=file_id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"batchgraph_tag": "bgjob1c0a0"},
    )
    yield "Batch", created.model_dump()
    done = raw_json(sandbox, f"/batches/{created.id}")
    yield "Batch", done
    for line in read_lines(client, done["output_file_id"]):
        yield "line:BatchRequestOutput", line


def listings_and_a_deleted_file(client: OpenAI, sandbox: SandboxHandle, _: Path) -> Bodies:
    create(client, [chat_line("a")])
    create(client, [chat_line("b")])
    yield "ListBatchesResponse", raw_json(sandbox, "/batches", limit=1)
    yield "ListFilesResponse", raw_json(sandbox, "/files", purpose="batch", limit=1)
    file_id = upload_lines(client, [chat_line("c")])
    yield "DeleteFileResponse", client.files.delete(file_id).model_dump()
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.retrieve(file_id)
    yield "ErrorResponse", caught.value.response.json()


def refusals(client: OpenAI, sandbox: SandboxHandle, _: Path) -> Bodies:
    yield "ErrorResponse", httpx.get(sandbox.base_url("openai") + "/batches").json()
    with pytest.raises(openai.NotFoundError) as missing:
        client.batches.retrieve("batch_nope")
    yield "ErrorResponse", missing.value.response.json()
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.create(
            input_file_id=upload_lines(client, [chat_line("a")]),
            endpoint="/v1/nope",  # type: ignore[arg-type]
            completion_window="24h",
        )
    yield "ErrorResponse", refused.value.response.json()


def a_batch_failed_in_validation(client: OpenAI, sandbox: SandboxHandle, _: Path) -> Bodies:
    failed = client.batches.retrieve(create(client, [chat_line("a"), "{not json"]).id)
    yield "Batch", failed.model_dump()


def error_lines(client: OpenAI, sandbox: SandboxHandle, _: Path) -> Bodies:
    sandbox.configure(fail_ids="^bad")
    lines = [chat_line("bad-1"), chat_line("ok"), chat_line("too-short", max_tokens=0)]
    done = client.batches.retrieve(create(client, lines).id)
    for line in read_lines(client, done.error_file_id):
        yield "line:BatchRequestOutput", line


def an_expired_batch(client: OpenAI, sandbox: SandboxHandle, tmp_path: Path) -> Bodies:
    config = SandboxConfig(time_scale=86400 * 20, processing_seconds=60, expire_fraction=0.5)
    with run_sandbox(tmp_path, config) as expiring:
        own = OpenAI(api_key=SANDBOX_API_KEY, base_url=expiring.base_url("openai"))
        batch = create(own, [chat_line(f"r{i}") for i in range(40)])
        done = own.batches.retrieve(batch.id)
        while done.status != "expired":
            done = own.batches.retrieve(batch.id)
        yield "Batch", done.model_dump()
        for line in read_lines(own, done.error_file_id):
            yield "line:BatchRequestOutput", line


def a_cancelled_batch(client: OpenAI, sandbox: SandboxHandle, _: Path) -> Bodies:
    now = [1_800_000_000.0]
    sandbox.ctx.now = lambda: now[0]  # real time stands still; the scenario moves it
    sandbox.configure(processing_seconds=100.0, time_scale=1.0)
    batch = create(client, [chat_line(f"r{i}") for i in range(20)])
    now[0] += 50
    yield "Batch", client.batches.cancel(batch.id).model_dump()
    now[0] += 10
    cancelled = client.batches.retrieve(batch.id)
    yield "Batch", cancelled.model_dump()
    for line in read_lines(client, cancelled.error_file_id):
        yield "line:BatchRequestOutput", line


SCENARIOS: list[Callable[[OpenAI, SandboxHandle, Path], Bodies]] = [
    a_batch_from_upload_to_output,
    listings_and_a_deleted_file,
    refusals,
    a_batch_failed_in_validation,
    error_lines,
    an_expired_batch,
    a_cancelled_batch,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_bodies_match_openais_schemas(
    scenario: Callable[[OpenAI, SandboxHandle, Path], Bodies],
    openai_client: OpenAI,
    batchgraph_sandbox: SandboxHandle,
    tmp_path: Path,
) -> None:
    checked = 0
    for name, body in scenario(openai_client, batchgraph_sandbox, tmp_path):
        spec: SpecValidator = openai_lines_spec() if name.startswith("line:") else openai_spec()
        spec.validate(name.removeprefix("line:"), body)
        checked += 1
    assert checked > 0, "the scenario produced no body to check"
