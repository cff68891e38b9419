"""What the OpenAI part of the sandbox does, driven by the official `openai` SDK over real HTTP.

Whether its bodies have OpenAI's published shapes is `test_openai_shapes.py`'s question."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from sandbox_support import chat_line, jsonl, read_lines, upload

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from batchgraph.sandbox.openai_input import Limits, check_input
from batchgraph.sandbox.personalities import PERSONALITIES


class FakeClock:
    """Real time stands still; the test moves it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(batchgraph_sandbox: SandboxHandle) -> FakeClock:
    fake = FakeClock()
    batchgraph_sandbox.ctx.now = fake
    batchgraph_sandbox.configure(processing_seconds=100.0, time_scale=1.0)
    return fake


def raw_json(sandbox: SandboxHandle, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    url = sandbox.base_url("openai") + path
    return httpx.get(url, headers=headers, params=params).json()


def create(client: OpenAI, lines: list[Any], **extra: Any) -> Any:
    return client.batches.create(
        input_file_id=upload(client, lines),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        **extra,
    )


def test_batch_round_trip_answers_every_request_in_its_own_order(
    openai_client: OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    lines = [chat_line(f"req-{i}", f"question {i}") for i in range(100)]
    file_id = upload(openai_client, lines)
    assert raw_json(batchgraph_sandbox, f"/files/{file_id}")["purpose"] == "batch"

    created = openai_client.batches.create(
        input_file_id=file_id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"batchgraph_tag": "bgjob1c0a0"},
    )
    assert created.status == "validating"
    assert created.request_counts is not None and created.request_counts.total == 0

    done = raw_json(batchgraph_sandbox, f"/batches/{created.id}")
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 100, "completed": 100, "failed": 0}
    assert done["expires_at"] - done["created_at"] == 86400
    assert done["metadata"] == {"batchgraph_tag": "bgjob1c0a0"}
    assert done["usage"]["total_tokens"] > 0 and done["error_file_id"] is None

    output = read_lines(openai_client, done["output_file_id"])
    for line in output:
        assert line["response"]["status_code"] == 200 and line["error"] is None
    ids = [line["custom_id"] for line in output]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(100))
    assert ids != [f"req-{i}" for i in range(100)], "output order should differ from the input"
    output_file = openai_client.files.retrieve(done["output_file_id"])
    assert output_file.purpose == "batch_output"


def test_batch_walks_validating_in_progress_finalizing_completed_as_time_passes(
    openai_client: OpenAI, clock: FakeClock
) -> None:
    batch = create(openai_client, [chat_line(f"r{i}") for i in range(50)])
    seen = []
    for seconds in (0, 15, 50, 95, 101):
        clock.now += seconds - (clock.now - 1_800_000_000.0)
        current = openai_client.batches.retrieve(batch.id)
        seen.append(current.status)
    assert seen == ["validating", "in_progress", "in_progress", "finalizing", "completed"]
    assert current.in_progress_at == current.created_at + 10
    assert current.finalizing_at == current.created_at + 90
    assert current.completed_at == current.created_at + 100


def test_running_batch_reports_growing_request_counts(
    openai_client: OpenAI, clock: FakeClock
) -> None:
    batch = create(openai_client, [chat_line(f"r{i}") for i in range(100)])
    clock.now += 50
    halfway = openai_client.batches.retrieve(batch.id).request_counts
    assert halfway is not None and halfway.total == 100 and 0 < halfway.completed < 100


def test_list_batches_pages_newest_first(
    openai_client: OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    made = [create(openai_client, [chat_line("a")]).id for _ in range(5)]
    first = raw_json(batchgraph_sandbox, "/batches", limit=2)
    assert [b["id"] for b in first["data"]] == made[::-1][:2] and first["has_more"] is True
    every = [b.id for b in openai_client.batches.list(limit=2)]
    assert every == made[::-1]
    last = raw_json(batchgraph_sandbox, "/batches", limit=2, after=made[1])
    assert [b["id"] for b in last["data"]] == [made[0]] and last["has_more"] is False


def test_files_list_retrieve_content_and_delete(
    openai_client: OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    ids = [upload(openai_client, [chat_line(str(i))]) for i in range(3)]
    listing = raw_json(batchgraph_sandbox, "/files", purpose="batch", order="asc", limit=2)
    assert [f["id"] for f in listing["data"]] == ids[:2] and listing["has_more"]
    assert [f.id for f in openai_client.files.list(purpose="batch", order="asc", limit=2)] == ids
    after = openai_client.files.list(after=ids[2], order="desc")
    assert [f.id for f in after] == ids[1::-1]
    assert json.loads(openai_client.files.content(ids[0]).text) == chat_line("0")

    deleted = openai_client.files.delete(ids[0])
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.files.retrieve(ids[0])
    assert caught.value.param == "file_id"


def test_file_content_streams_in_pieces(openai_client: OpenAI) -> None:
    lines = [chat_line(f"r{i}", "x" * 500) for i in range(2000)]
    file_id = upload(openai_client, lines)
    with openai_client.files.with_streaming_response.content(file_id) as response:
        got = sum(1 for _ in response.iter_lines())
    assert got == 2000


def test_missing_api_key_is_answered_401_in_openai_shape(batchgraph_sandbox: SandboxHandle) -> None:
    reply = httpx.get(batchgraph_sandbox.base_url("openai") + "/batches")
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "invalid_api_key"


def test_unknown_batch_is_404_in_openai_shape(openai_client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.batches.retrieve("batch_nope")
    assert caught.value.type == "invalid_request_error"


def test_bad_input_lines_make_batch_fail_with_numbered_errors(openai_client: OpenAI) -> None:
    lines: list[Any] = [
        chat_line("ok-1"),
        "{not json",
        chat_line("ok-1"),
        {**chat_line("wrong-url"), "url": "/v1/embeddings"},
        {**chat_line("no-model"), "body": {"messages": []}},
        {**chat_line("other-model"), "body": {"model": "gpt-4o", "messages": []}},
    ]
    batch = create(openai_client, lines)
    assert batch.status == "validating"
    failed = openai_client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.failed_at is not None
    assert failed.output_file_id is None and failed.error_file_id is None
    assert failed.errors is not None and failed.errors.data is not None
    assert [(e.code, e.line) for e in failed.errors.data] == [
        ("invalid_json_line", 2),
        ("duplicate_custom_id", 3),
        ("url_mismatch", 4),
        ("missing_required_parameter", 5),
        ("model_mismatch", 6),
    ]


def test_over_50000_requests_fails_batch_with_too_many_tasks(openai_client: OpenAI) -> None:
    head, tail = json.dumps(chat_line("X")).split('"X"')
    many = [f'{head}"r{i}"{tail}' for i in range(50_001)]
    failed = openai_client.batches.retrieve(create(openai_client, many).id)
    assert failed.status == "failed" and failed.errors and failed.errors.data
    assert [e.code for e in failed.errors.data] == ["too_many_tasks"]


def test_input_over_200_mb_is_refused_in_validation(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([chat_line("a")]))
    openai = PERSONALITIES["openai"]
    limits = Limits(openai.max_requests, openai.max_bytes)
    check = check_input(path, 200 * 1024 * 1024 + 1, "/v1/chat/completions", limits)
    assert [e["code"] for e in check.errors] == ["file_too_large"]


def test_create_refuses_unknown_endpoint_and_window(openai_client: OpenAI) -> None:
    file_id = upload(openai_client, [chat_line("a")])
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.batches.create(
            input_file_id=file_id,
            endpoint="/v1/nope",  # type: ignore[arg-type]
            completion_window="24h",
        )
    assert caught.value.param == "endpoint"
    with pytest.raises(openai.BadRequestError):
        openai_client.batches.create(
            input_file_id=file_id,
            endpoint="/v1/chat/completions",
            completion_window="48h",  # type: ignore[arg-type]
        )
    with pytest.raises(openai.NotFoundError):
        openai_client.batches.create(
            input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h"
        )


def test_thirty_percent_failure_rate_gives_server_error_lines(openai_client: OpenAI) -> None:
    batch = create(
        openai_client,
        [chat_line(f"r{i}") for i in range(300)],
        extra_headers={"x-sandbox-failure-rate": "0.3"},
    )
    done = openai_client.batches.retrieve(batch.id)
    counts = done.request_counts
    assert counts is not None and counts.completed + counts.failed == 300
    assert 60 <= counts.failed <= 120
    errors = read_lines(openai_client, done.error_file_id)
    assert len(errors) == counts.failed
    for line in errors:
        assert line["response"]["status_code"] == 500
        assert line["response"]["body"]["error"]["type"] == "server_error"
    assert len(read_lines(openai_client, done.output_file_id)) == counts.completed


def test_fail_ids_fails_exactly_the_matching_requests(
    openai_client: OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(fail_ids=r"^bad-")
    batch = create(openai_client, [chat_line("bad-1"), chat_line("good-1"), chat_line("bad-2")])
    done = openai_client.batches.retrieve(batch.id)
    failed = {line["custom_id"] for line in read_lines(openai_client, done.error_file_id)}
    assert failed == {"bad-1", "bad-2"}


def test_invalid_request_body_gets_a_400_line(openai_client: OpenAI) -> None:
    batch = create(openai_client, [chat_line("a", max_tokens=0)])
    done = openai_client.batches.retrieve(batch.id)
    (line,) = read_lines(openai_client, done.error_file_id)
    assert line["response"]["status_code"] == 400
    assert line["response"]["body"]["error"]["type"] == "invalid_request_error"


def test_expired_batch_returns_its_finished_part(tmp_path: Path) -> None:
    config = SandboxConfig(time_scale=86400 * 20, processing_seconds=60, expire_fraction=0.5)
    with run_sandbox(tmp_path, config) as sandbox:
        client = OpenAI(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url("openai"))
        batch = create(client, [chat_line(f"r{i}") for i in range(200)])
        done = client.batches.retrieve(batch.id)
        for _ in range(100):
            if done.status == "expired":
                break
            done = client.batches.retrieve(batch.id)
        assert done.status == "expired" and done.expired_at == done.created_at + 86400
        finished = read_lines(client, done.output_file_id)
        unfinished = read_lines(client, done.error_file_id)
    assert 60 < len(finished) < 140
    assert len(finished) + len(unfinished) == 200
    for line in unfinished:
        assert line["response"] is None and line["error"]["code"] == "batch_expired"


def test_cancel_keeps_finished_requests_and_marks_the_rest_cancelled(
    openai_client: OpenAI, clock: FakeClock
) -> None:
    batch = create(openai_client, [chat_line(f"r{i}") for i in range(100)])
    clock.now += 50
    cancelling = openai_client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    clock.now += 10
    cancelled = openai_client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled"
    finished = read_lines(openai_client, cancelled.output_file_id)
    rest = read_lines(openai_client, cancelled.error_file_id)
    assert 20 < len(finished) < 80 and len(finished) + len(rest) == 100
    assert {line["error"]["code"] for line in rest} == {"batch_cancelled"}
    with pytest.raises(openai.BadRequestError):
        openai_client.batches.cancel(batch.id)


def test_sdk_retries_through_rate_limits_and_server_blips(
    openai_client: OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    reply = httpx.get(batchgraph_sandbox.base_url("openai") + "/batches")
    batchgraph_sandbox.configure(rate_limit_every=2, rate_limit_retry_after=0.01)
    headers = {"Authorization": "Bearer k"}
    replies = [httpx.get(batchgraph_sandbox.base_url("openai") + "/batches", headers=headers)]
    replies.append(httpx.get(batchgraph_sandbox.base_url("openai") + "/batches", headers=headers))
    limited = [r for r in replies if r.status_code == 429]
    assert len(limited) == 1 and limited[0].headers["retry-after-ms"] == "10"
    assert limited[0].json()["error"]["code"] == "rate_limit_exceeded"

    batchgraph_sandbox.configure(rate_limit_every=3, server_error_rate=0.5)
    batch = create(openai_client, [chat_line(f"r{i}") for i in range(20)])
    done = openai_client.batches.retrieve(batch.id)
    assert len(read_lines(openai_client, done.output_file_id)) == 20
    assert reply.status_code == 401


def test_latency_slows_every_call(openai_client: OpenAI, batchgraph_sandbox: SandboxHandle) -> None:
    batchgraph_sandbox.configure(latency=0.2)
    reply = openai_client.batches.with_raw_response.list()
    assert reply.elapsed.total_seconds() >= 0.2


def test_restarted_sandbox_keeps_files_and_batches(tmp_path: Path) -> None:
    with run_sandbox(tmp_path, SandboxConfig.instant()) as first:
        client = OpenAI(api_key="k", base_url=first.base_url("openai"))
        batch = create(client, [chat_line("a"), chat_line("b")])
        output = client.batches.retrieve(batch.id).output_file_id
    with run_sandbox(tmp_path) as second:
        client = OpenAI(api_key="k", base_url=second.base_url("openai"))
        again = client.batches.retrieve(batch.id)
        assert again.status == "completed" and again.output_file_id == output
        assert {x["custom_id"] for x in read_lines(client, output)} == {"a", "b"}
        assert [b.id for b in client.batches.list()] == [batch.id]


def test_batch_progress_follows_the_clock_across_restarts(tmp_path: Path) -> None:
    config = SandboxConfig(time_scale=1000, processing_seconds=100)
    with run_sandbox(tmp_path, config) as first:
        client = OpenAI(api_key="k", base_url=first.base_url("openai"))
        batch = create(client, [chat_line("a")])
    with run_sandbox(tmp_path, SandboxConfig()) as second:
        client = OpenAI(api_key="k", base_url=second.base_url("openai"))
        # created_at is whole seconds, so the real creation may be up to 1 s later than it says.
        second.ctx.now = FakeClock(batch.created_at + 2.0)
        assert client.batches.retrieve(batch.id).status == "completed"


def test_creations_log_counts_every_batch_created(
    openai_client: OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    for n in range(3):
        create(openai_client, [chat_line("a")], metadata={"n": str(n)})
    log = batchgraph_sandbox.creations("openai")
    assert [c.metadata for c in log] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
    assert all(c.request_count == 1 for c in log)
    over_http = httpx.get(f"{batchgraph_sandbox.url}/_sandbox/creations?provider=openai").json()
    assert len(over_http["data"]) == 3


def test_json_schema_request_gets_an_answer_that_validates(openai_client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "rank": {"enum": [1, 2, 3]}},
        "required": ["city", "rank"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema, "strict": True}}
    batch = create(openai_client, [chat_line("a", response_format=fmt)])
    done = openai_client.batches.retrieve(batch.id)
    (line,) = read_lines(openai_client, done.output_file_id)
    content = line["response"]["body"]["choices"][0]["message"]["content"]
    answer = json.loads(content)
    assert set(answer) == {"city", "rank"} and answer["rank"] in (1, 2, 3)


def test_embeddings_and_responses_endpoints_answer_in_their_shapes(openai_client: OpenAI) -> None:
    embed = {
        "custom_id": "e",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "text-embedding-3-small", "input": ["one", "two"]},
    }
    batch = openai_client.batches.create(
        input_file_id=upload(openai_client, [embed]),
        endpoint="/v1/embeddings",
        completion_window="24h",
    )
    (line,) = read_lines(openai_client, openai_client.batches.retrieve(batch.id).output_file_id)
    vectors = [d["embedding"] for d in line["response"]["body"]["data"]]
    assert len(vectors) == 2 and len(vectors[0]) == 1536 and vectors[0] != vectors[1]

    ask = {
        "custom_id": "r",
        "method": "POST",
        "url": "/v1/responses",
        "body": {"model": "gpt-4.1-mini", "input": "hello"},
    }
    batch = openai_client.batches.create(
        input_file_id=upload(openai_client, [ask]),
        endpoint="/v1/responses",
        completion_window="24h",
    )
    (line,) = read_lines(openai_client, openai_client.batches.retrieve(batch.id).output_file_id)
    assert line["response"]["body"]["output"][0]["content"][0]["type"] == "output_text"
