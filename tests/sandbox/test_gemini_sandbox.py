"""The Gemini part of the sandbox, driven by the official `google-genai` SDK over real HTTP.

There is no published spec of Gemini's batch mode to check bodies against; the SDK's own
pydantic types (`GenerateContentResponse`, `SingleEmbedContentResponse`) check the lines here.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import jsonschema
import pytest
from google import genai
from google.genai import errors, types

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle

MODEL = "gemini-2.5-flash"
FAST_RETRIES = types.HttpRetryOptions(attempts=4, initial_delay=0.01, max_delay=0.05, jitter=0)
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


@pytest.fixture
def client(batchgraph_sandbox: SandboxHandle) -> Iterator[genai.Client]:
    options = types.HttpOptions(
        base_url=batchgraph_sandbox.base_url("gemini"),
        api_version="v1beta",
        retry_options=FAST_RETRIES,
    )
    instance = genai.Client(api_key=SANDBOX_API_KEY, http_options=options)
    yield instance
    instance.close()


@pytest.fixture
def instant(batchgraph_sandbox: SandboxHandle) -> SandboxHandle:
    batchgraph_sandbox.configure(processing_seconds=0.0)
    return batchgraph_sandbox


def line(key: str, text: str = "What is 2+2?", **config: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if config:
        request["generationConfig"] = config
    return {"key": key, "request": request}


def upload(client: genai.Client, lines: list[dict[str, Any] | str]) -> str:
    data = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()
    uploaded = client.files.upload(
        file=io.BytesIO(data),
        config=types.UploadFileConfig(display_name="requests.jsonl", mime_type="jsonl"),
    )
    assert uploaded.name is not None
    return uploaded.name


def wait(client: genai.Client, name: str) -> types.BatchJob:
    deadline = time.monotonic() + 10
    while True:
        job = client.batches.get(name=name)
        if job.done or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


def responses(client: genai.Client, job: types.BatchJob) -> dict[str, dict[str, Any]]:
    assert job.dest is not None and job.dest.file_name is not None
    data = client.files.download(file=job.dest.file_name)
    entries = [json.loads(raw) for raw in data.splitlines()]
    return {entry.pop("key"): entry for entry in entries}


def run(client: genai.Client, lines: list[dict[str, Any] | str]) -> dict[str, dict[str, Any]]:
    job = client.batches.create(model=MODEL, src=upload(client, lines))
    assert job.name is not None
    return responses(client, wait(client, job.name))


def test_file_batch_runs_from_upload_to_responses_file(
    client: genai.Client, instant: SandboxHandle
) -> None:
    name = upload(client, [line("r1"), line("r2", "Hello there")])
    created = client.batches.create(model=MODEL, src=name, config={"display_name": "mine"})
    assert created.name is not None and created.name.startswith("batches/")
    assert (created.display_name, created.model) == ("mine", f"models/{MODEL}")
    assert created.state is types.JobState.JOB_STATE_PENDING

    job = wait(client, created.name)

    assert job.state is types.JobState.JOB_STATE_SUCCEEDED and job.end_time is not None
    out = responses(client, job)
    assert set(out) == {"r1", "r2"}
    for entry in out.values():
        response = types.GenerateContentResponse.model_validate(entry["response"])
        assert response.text and response.candidates is not None
        assert response.candidates[0].finish_reason is types.FinishReason.STOP
        usage = response.usage_metadata
        assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
        assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count


def test_the_same_prompt_gets_the_same_answer(client: genai.Client, instant: SandboxHandle) -> None:
    first = run(client, [line("a", "same")])["a"]
    second = run(client, [line("b", "same")])["b"]
    assert first == second


def test_uploaded_file_is_described_but_cannot_be_downloaded(
    client: genai.Client, batchgraph_sandbox: SandboxHandle
) -> None:
    name = upload(client, [line("r1")])
    described = client.files.get(name=name)
    assert described.state is types.FileState.ACTIVE and described.size_bytes
    assert described.display_name == "requests.jsonl"
    with pytest.raises(errors.ClientError, match="only generated files"):
        client.files.download(file=name)
    client.files.delete(name=name)
    with pytest.raises(errors.ClientError) as missing:
        client.files.get(name=name)
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"


def test_large_upload_arrives_whole_in_several_chunks(
    client: genai.Client, batchgraph_sandbox: SandboxHandle
) -> None:
    big = [line(f"r{n}", "x" * 1000) for n in range(9_000)]  # about 9.4 MB: two chunks
    name = upload(client, big)
    record = batchgraph_sandbox.ctx.store.get_file("gemini", name.removeprefix("files/"))
    assert record is not None and record.bytes > 8 * 1024 * 1024
    stored = batchgraph_sandbox.ctx.store.file_path(record.id).read_bytes().splitlines()
    assert len(stored) == 9_000 and json.loads(stored[-1])["key"] == "r8999"


def test_upload_session_needs_no_key_but_a_forged_one_is_refused(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    url = batchgraph_sandbox.base_url("gemini") + "/upload/v1beta/files"
    headers = {"x-goog-upload-command": "upload, finalize", "x-goog-upload-offset": "0"}
    forged = httpx2.post(url, params={"upload_id": "abc" * 8}, headers=headers, content=b"{}")
    assert forged.status_code == 401
    assert forged.json()["error"]["status"] == "UNAUTHENTICATED"
    keyless = httpx2.get(batchgraph_sandbox.base_url("gemini") + "/v1beta/batches")
    assert keyless.status_code == 401


def test_inline_requests_come_back_inline(client: genai.Client, instant: SandboxHandle) -> None:
    created = client.batches.create(
        model=MODEL,
        src=[
            {"contents": [{"parts": [{"text": "one"}], "role": "user"}], "metadata": {"key": "a"}},
            {"contents": [{"parts": [{"text": "two"}], "role": "user"}], "metadata": {"key": "b"}},
        ],
    )
    assert created.name is not None
    job = wait(client, created.name)
    assert job.dest is not None and job.dest.inlined_responses is not None
    by_key = {r.metadata["key"]: r for r in job.dest.inlined_responses if r.metadata}
    assert set(by_key) == {"a", "b"}
    assert all(r.response is not None and r.response.text for r in by_key.values())


def test_embeddings_batch_gives_vectors(client: genai.Client, instant: SandboxHandle) -> None:
    requests = [
        {"key": "e1", "request": {"content": {"parts": [{"text": "hello"}]}}},
        {
            "key": "e2",
            "request": {"content": {"parts": [{"text": "hi"}]}, "output_dimensionality": 8},
        },
    ]
    with pytest.warns(Warning, match="experimental"):
        created = client.batches.create_embeddings(
            model="gemini-embedding-001", src={"file_name": upload(client, requests)}
        )
    assert created.name is not None
    out = responses(client, wait(client, created.name))
    first = types.SingleEmbedContentResponse.model_validate(out["e1"]["response"])
    second = types.SingleEmbedContentResponse.model_validate(out["e2"]["response"])
    assert first.embedding is not None and len(first.embedding.values or []) == 256
    assert second.embedding is not None and len(second.embedding.values or []) == 8


def test_schema_answers_follow_json_schema_and_openapi_schema(
    client: genai.Client, instant: SandboxHandle
) -> None:
    openapi = {
        "type": "OBJECT",
        "properties": {"ok": {"type": "BOOLEAN"}, "n": {"type": "INTEGER"}},
        "required": ["ok", "n"],
    }
    out = run(
        client,
        [
            line("json", responseMimeType="application/json", responseJsonSchema=SCHEMA),
            line("openapi", responseMimeType="application/json", responseSchema=openapi),
            line("no-mime", responseJsonSchema=SCHEMA),
        ],
    )
    parts = out["json"]["response"]["candidates"][0]["content"]["parts"]
    jsonschema.validate(json.loads(parts[0]["text"]), SCHEMA)
    parts = out["openapi"]["response"]["candidates"][0]["content"]["parts"]
    answer = json.loads(parts[0]["text"])
    assert isinstance(answer["ok"], bool) and isinstance(answer["n"], int)
    assert out["no-mime"]["error"]["status"] == "INVALID_ARGUMENT"
    assert "response_mime_type" in out["no-mime"]["error"]["message"]


def test_bad_requests_and_injected_failures_are_lines_with_google_statuses(
    client: genai.Client, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(processing_seconds=0.0, fail_ids="^boom")
    out = run(
        client,
        [
            line("ok"),
            {"key": "empty", "request": {"contents": []}},
            line("long", maxOutputTokens=0),
            line("boom-1"),
        ],
    )
    assert "response" in out["ok"]
    assert out["empty"]["error"] == {
        "code": 400,
        "message": "* GenerateContentRequest.contents: contents is not specified",
        "status": "INVALID_ARGUMENT",
    }
    assert out["long"]["error"]["status"] == "INVALID_ARGUMENT"
    assert (out["boom-1"]["error"]["code"], out["boom-1"]["error"]["status"]) == (500, "INTERNAL")


def test_max_output_tokens_cuts_the_answer(client: genai.Client, instant: SandboxHandle) -> None:
    out = run(client, [line("short", "tell me a long story", maxOutputTokens=1)])
    response = types.GenerateContentResponse.model_validate(out["short"]["response"])
    assert response.candidates is not None
    assert response.candidates[0].finish_reason is types.FinishReason.MAX_TOKENS
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == 1


def test_an_unreadable_input_file_is_refused_at_create_naming_the_line(
    client: genai.Client, batchgraph_sandbox: SandboxHandle
) -> None:
    for lines, problem in [
        ([line("a"), "{oops"], "Line 2 of the input file is not a JSON object"),
        ([line("a"), line("a")], "Line 2 of the input file repeats the key 'a'"),
        ([{"request": {}}], "Line 1 of the input file has no key"),
    ]:
        with pytest.raises(errors.ClientError, match=problem) as refused:
            client.batches.create(model=MODEL, src=upload(client, lines))
        assert refused.value.code == 400
    assert batchgraph_sandbox.creations("gemini") == []


def test_list_pages_newest_first_and_delete_removes_a_batch(
    client: genai.Client, instant: SandboxHandle
) -> None:
    names = [
        client.batches.create(model=MODEL, src=upload(client, [line("r")])).name for _ in range(3)
    ]
    pager = client.batches.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert [job.name for job in pager] == names[::-1]
    client.batches.delete(name=str(names[0]))
    with pytest.raises(errors.ClientError) as gone:
        client.batches.get(name=str(names[0]))
    assert gone.value.code == 404


def test_cancel_reads_running_until_the_batch_stops_then_reports_unrun_requests(
    client: genai.Client, batchgraph_sandbox: SandboxHandle
) -> None:
    clock = [1_800_000_000.0]
    batchgraph_sandbox.ctx.now = lambda: clock[0]
    batchgraph_sandbox.configure(processing_seconds=100.0, time_scale=1.0)
    job = client.batches.create(
        model=MODEL, src=upload(client, [line(f"r{n}", f"q{n}") for n in range(40)])
    )
    assert job.name is not None
    clock[0] += 50
    client.batches.cancel(name=job.name)
    assert client.batches.get(name=job.name).state is types.JobState.JOB_STATE_RUNNING
    clock[0] += 10
    cancelled = client.batches.get(name=job.name)
    assert cancelled.state is types.JobState.JOB_STATE_CANCELLED
    out = responses(client, cancelled)
    statuses = {entry.get("error", {}).get("status", "answered") for entry in out.values()}
    assert statuses == {"answered", "CANCELLED"} and len(out) == 40
    with pytest.raises(errors.ClientError) as ended:
        client.batches.cancel(name=job.name)
    assert ended.value.status == "FAILED_PRECONDITION"


def test_expired_batch_keeps_what_finished(
    client: genai.Client, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(time_scale=86400 * 50, processing_seconds=60, expire_fraction=0.5)
    job = client.batches.create(
        model=MODEL, src=upload(client, [line(f"r{n}", f"q{n}") for n in range(40)])
    )
    assert job.name is not None
    expired = wait(client, job.name)
    assert expired.state is types.JobState.JOB_STATE_EXPIRED
    out = responses(client, expired)
    unrun = [k for k, entry in out.items() if "error" in entry]
    assert 5 < len(unrun) < 35
    assert {out[k]["error"]["status"] for k in unrun} == {"DEADLINE_EXCEEDED"}


def test_sdk_retries_ride_out_rate_limits_and_blips(
    client: genai.Client, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(processing_seconds=0.0, rate_limit_every=2, server_error_rate=0.5)
    job = client.batches.create(model=MODEL, src=upload(client, [line("r1"), line("r2")]))
    assert job.name is not None
    finished = wait(client, job.name)
    # The SDK sends a download once, whatever comes back (the adapter retries it).
    batchgraph_sandbox.configure(rate_limit_every=0, server_error_rate=0.0)
    assert set(responses(client, finished)) == {"r1", "r2"}


def test_create_headers_override_the_config_for_that_batch(
    client: genai.Client, instant: SandboxHandle
) -> None:
    headers = {"x-sandbox-fail-ids": "^r1$"}
    job = client.batches.create(
        model=MODEL,
        src=upload(client, [line("r1"), line("r2")]),
        config={"http_options": types.HttpOptions(headers=headers)},
    )
    assert job.name is not None
    out = responses(client, wait(client, job.name))
    assert "error" in out["r1"] and "response" in out["r2"]
