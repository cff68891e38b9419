"""The Mistral part of the sandbox, driven by the official `mistralai` SDK over real HTTP.

Every JSON body the SDK receives is also checked against the operation's 200 schema in Mistral's
published spec (the SDK itself checks them against its pydantic models).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import yaml
from jsonschema import Draft202012Validator
from mistralai.client import Mistral
from mistralai.client.errors import SDKError
from mistralai.client.models import ChatCompletionResponse, EmbeddingResponse
from mistralai.client.utils import BackoffStrategy, RetryConfig
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxConfig, SandboxHandle, run_sandbox

SPEC = Path(__file__).resolve().parents[1] / "specs/mistral/openapi-batch-extract.yaml"
START = 1_800_000_000.0
MODEL = "mistral-small-latest"
CHAT = "/v1/chat/completions"
FAST_RETRIES = RetryConfig("backoff", BackoffStrategy(10, 50, 2, 20_000, jitter_ms=0), True)


# -- checking bodies against the spec -------------------------------------------------------


class MistralSpec:
    """The 200 response schema of each Mistral operation, by method and concrete path."""

    def __init__(self, path: Path) -> None:
        with path.open() as f:
            document = yaml.load(f, Loader=yaml.CSafeLoader)
        self.uri = "urn:spec:mistral"
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)
        self.operations: list[tuple[str, re.Pattern[str], str]] = []
        for template, item in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
            for method, operation in item.items():
                content = operation.get("responses", {}).get("200", {}).get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if "$ref" in schema:
                    self.operations.append((method.upper(), pattern, schema["$ref"]))

    def validate(self, method: str, path: str, body: Any) -> str:
        """Check `body` against the operation's schema; the schema's name."""
        for op_method, pattern, ref in self.operations:
            if op_method == method and pattern.match(path):
                schema = {"$ref": f"{self.uri}{ref}"}
                Draft202012Validator(schema, registry=self.registry).validate(body)
                return ref.rsplit("/", 1)[-1]
        raise AssertionError(f"no operation in the spec for {method} {path}")

    def validate_schema(self, name: str, instance: Any) -> None:
        schema = {"$ref": f"{self.uri}#/components/schemas/{name}"}
        Draft202012Validator(schema, registry=self.registry).validate(instance)


@cache
def mistral_spec() -> MistralSpec:
    return MistralSpec(SPEC)


class Recorder:
    """Keeps every 200 JSON body the SDK receives, to check them against the spec."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.bodies: list[tuple[str, str, Any]] = []

    def __call__(self, response: httpx2.Response) -> None:
        content_type = response.headers.get("content-type", "")
        if response.status_code == 200 and content_type.startswith("application/json"):
            response.read()
            path = response.request.url.path.removeprefix(self.prefix)
            self.bodies.append((response.request.method, path, response.json()))

    def check(self, spec: MistralSpec) -> set[str]:
        return {spec.validate(method, path, body) for method, path, body in self.bodies}


@pytest.fixture(scope="session")
def spec() -> MistralSpec:
    return mistral_spec()


@pytest.fixture
def recorder(batchgraph_sandbox: SandboxHandle) -> Recorder:
    return Recorder("/mistral")


@pytest.fixture
def client(batchgraph_sandbox: SandboxHandle, recorder: Recorder) -> Iterator[Mistral]:
    http = httpx2.Client(event_hooks={"response": [recorder]})
    yield Mistral(
        api_key=SANDBOX_API_KEY,
        server_url=batchgraph_sandbox.base_url("mistral"),
        client=http,
        retry_config=FAST_RETRIES,
    )
    http.close()


class FakeClock:
    """Real time stands still; the test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(batchgraph_sandbox: SandboxHandle) -> FakeClock:
    fake = FakeClock()
    batchgraph_sandbox.ctx.now = fake
    batchgraph_sandbox.configure(processing_seconds=100.0, time_scale=1.0)
    return fake


# -- building input -------------------------------------------------------------------------


def chat(custom_id: str | None, text: str = "What is the best French cheese?", **body: Any) -> Any:
    return {
        "custom_id": custom_id,
        "body": {"max_tokens": 100, "messages": [{"role": "user", "content": text}], **body},
    }


def jsonl(lines: list[Any]) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def upload(client: Mistral, lines: list[Any]) -> str:
    content = io.BytesIO(jsonl(lines))
    return client.files.upload(
        file={"file_name": "batch.jsonl", "content": content}, purpose="batch"
    ).id


def create(client: Mistral, lines: list[Any], **job: Any) -> Any:
    job.setdefault("model", MODEL)
    job.setdefault("endpoint", CHAT)
    return client.batch.jobs.create(input_files=[upload(client, lines)], **job)


def read_lines(client: Mistral, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    response = client.files.download(file_id=file_id)
    try:
        return [json.loads(line) for line in response.iter_lines() if line.strip()]
    finally:
        response.close()


def raw(sandbox: SandboxHandle, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    url = sandbox.base_url("mistral") + path
    return httpx.request(method, url, headers=headers, **kwargs)


# -- the round trip -------------------------------------------------------------------------


def test_file_batch_round_trip_answers_every_request_in_sdk_models(client: Mistral) -> None:
    lines = [chat(f"req-{i}", f"question {i}") for i in range(100)]
    uploaded = client.files.upload(
        file={"file_name": "batch.jsonl", "content": io.BytesIO(jsonl(lines))}, purpose="batch"
    )
    assert uploaded.size_bytes == len(jsonl(lines)) and uploaded.num_lines == 100
    assert (uploaded.purpose, uploaded.sample_type, uploaded.source) == (
        "batch",
        "batch_request",
        "upload",
    )

    created = client.batch.jobs.create(
        input_files=[uploaded.id],
        model=MODEL,
        endpoint=CHAT,
        metadata={"batchgraph_tag": "bgjob1c0a0"},
        timeout_hours=48,
    )
    assert created.status == "QUEUED" and created.total_requests == 0
    assert created.input_files == [uploaded.id] and created.errors == []

    done = client.batch.jobs.get(job_id=created.id)
    assert done.status == "SUCCESS" and done.error_file is None
    assert (done.total_requests, done.succeeded_requests, done.failed_requests) == (100, 100, 0)
    assert done.completed_requests == 100 and done.metadata == {"batchgraph_tag": "bgjob1c0a0"}
    assert done.started_at is not None and done.completed_at is not None

    output = read_lines(client, done.output_file)
    for line in output:
        assert set(line) == {"id", "custom_id", "response", "error"} and line["error"] is None
        assert line["response"]["status_code"] == 200
        assert re.match(r"^batch-[0-9a-f]{8}-\d+-[0-9a-f-]{36}$", line["id"])
        answer = ChatCompletionResponse.model_validate(line["response"]["body"])
        assert answer.model == MODEL and answer.choices[0].message.content
    ids = [line["custom_id"] for line in output]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(100))
    assert ids != [f"req-{i}" for i in range(100)], "output order should differ from the input"

    result = client.files.retrieve(file_id=done.output_file)
    assert (result.sample_type, result.source, result.num_lines) == ("batch_result", "mistral", 100)


def test_bodies_of_a_batch_round_trip_match_mistrals_spec(
    client: Mistral, recorder: Recorder, spec: MistralSpec
) -> None:
    """Shapes only: every 200 JSON body the SDK received, checked against the published spec."""
    lines = [chat(f"req-{i}", f"question {i}") for i in range(5)]
    uploaded = client.files.upload(
        file={"file_name": "batch.jsonl", "content": io.BytesIO(jsonl(lines))}, purpose="batch"
    )
    created = client.batch.jobs.create(input_files=[uploaded.id], model=MODEL, endpoint=CHAT)
    done = client.batch.jobs.get(job_id=created.id)
    client.batch.jobs.list(page_size=2)
    client.files.list(page_size=2)
    assert done.output_file is not None
    client.files.retrieve(file_id=done.output_file)
    client.files.delete(file_id=uploaded.id)
    checked = recorder.check(spec)
    assert checked >= {"CreateFileResponse", "BatchJob", "GetFileResponse", "DeleteFileResponse"}


def test_inline_job_returns_its_outputs_when_fetched_with_inline(
    client: Mistral, recorder: Recorder, spec: MistralSpec
) -> None:
    requests = [chat(str(i)) for i in range(5)] + [chat("hot", temperature=3)]
    created = client.batch.jobs.create(requests=requests, model=MODEL, endpoint=CHAT)
    assert created.input_files == [] and created.outputs is None

    plain = client.batch.jobs.get(job_id=created.id)
    assert plain.outputs is None
    job = client.batch.jobs.get(job_id=created.id, inline=True)
    assert job.outputs is not None and len(job.outputs) == 6
    by_id = {line["custom_id"]: line for line in job.outputs}
    assert by_id["hot"]["response"]["status_code"] == 422
    assert by_id["0"]["response"]["status_code"] == 200
    assert (job.succeeded_requests, job.failed_requests) == (5, 1)
    recorder.check(spec)


def test_embeddings_job_returns_one_vector_per_request(client: Mistral) -> None:
    lines = [{"custom_id": f"e{i}", "body": {"input": f"text {i}"}} for i in range(3)]
    job = create(client, lines, model="mistral-embed", endpoint="/v1/embeddings")
    done = client.batch.jobs.get(job_id=job.id)
    for line in read_lines(client, done.output_file):
        body = EmbeddingResponse.model_validate(line["response"]["body"])
        assert body.data[0].embedding is not None and len(body.data[0].embedding) > 8


def test_job_walks_queued_running_success_as_time_passes(client: Mistral, clock: FakeClock) -> None:
    job = create(client, [chat(f"r{i}") for i in range(100)])
    seen = []
    for seconds in (0, 50, 95, 101):
        clock.now = START + seconds
        seen.append(client.batch.jobs.get(job_id=job.id))
    assert [j.status for j in seen] == ["QUEUED", "RUNNING", "RUNNING", "SUCCESS"]
    queued, halfway, _, done = seen
    assert queued.total_requests == 0 and queued.started_at is None
    assert halfway.total_requests == 100 and 0 < halfway.completed_requests < 100
    assert halfway.output_file is None and halfway.completed_at is None
    assert done.started_at == done.created_at + 10 and done.completed_at == done.created_at + 100


# -- listing --------------------------------------------------------------------------------


def test_list_jobs_pages_newest_first_with_total(
    client: Mistral, recorder: Recorder, spec: MistralSpec
) -> None:
    made = [create(client, [chat("a")]).id for _ in range(5)]
    first = client.batch.jobs.list(page=0, page_size=2)
    assert [j.id for j in first.data or []] == made[::-1][:2] and first.total == 5
    last = client.batch.jobs.list(page=2, page_size=2)
    assert [j.id for j in last.data or []] == [made[0]]
    oldest_first = client.batch.jobs.list(page_size=10, order_by="created")
    assert [j.id for j in oldest_first.data or []] == made
    assert "ListBatchJobsResponse" in recorder.check(spec)


def test_list_jobs_filters_by_flattened_metadata_status_model_and_time(
    client: Mistral, clock: FakeClock
) -> None:
    tagged = create(client, [chat("a")], metadata={"job_type": "testing"})
    clock.now += 200
    other = create(client, [chat("a")], metadata={"job_type": "other"}, model="mistral-tiny")

    by_meta = client.batch.jobs.list(metadata={"job_type": "testing"})
    assert [j.id for j in by_meta.data or []] == [tagged.id] and by_meta.total == 1
    queued = client.batch.jobs.list(status=["QUEUED", "RUNNING"])
    assert [j.id for j in queued.data or []] == [other.id]
    assert [j.id for j in client.batch.jobs.list(model="mistral-tiny").data or []] == [other.id]
    since = datetime.fromtimestamp(START + 100, UTC)
    assert [j.id for j in client.batch.jobs.list(created_after=since).data or []] == [other.id]
    mine = client.batch.jobs.list(created_by_me=True, metadata={"job_type": "nope"})
    assert mine.data == [] and mine.total == 0


def test_list_query_is_flattened_as_the_sdk_sends_it(
    batchgraph_sandbox: SandboxHandle, client: Mistral
) -> None:
    job = create(client, [chat("a")], metadata={"job_type": "testing"})
    query = (
        "page=0&page_size=10&job_type=testing&created_by_me=true&status=SUCCESS&order_by=-created"
    )
    reply = raw(batchgraph_sandbox, "GET", f"/v1/batch/jobs?{query}")
    assert reply.status_code == 200
    assert [j["id"] for j in reply.json()["data"]] == [job.id]


def test_files_list_pages_and_filters(
    client: Mistral, recorder: Recorder, spec: MistralSpec
) -> None:
    ids = [upload(client, [chat(str(i))]) for i in range(3)]
    first = client.files.list(page=0, page_size=2, purpose="batch")
    assert [f.id for f in first.data] == ids[::-1][:2] and first.total == 3
    job = client.batch.jobs.create(input_files=[ids[0]], model=MODEL, endpoint=CHAT)
    client.batch.jobs.get(job_id=job.id)
    results = client.files.list(sample_type=["batch_result"], source=["mistral"])
    assert [f.sample_type for f in results.data] == ["batch_result"] and results.total == 1
    no_total = client.files.list(include_total=False, search="batch")
    assert no_total.total is None and [f.filename for f in no_total.data] == ["batch.jsonl"] * 3
    assert "ListFilesResponse" in recorder.check(spec)


# -- files ----------------------------------------------------------------------------------


def test_file_retrieve_download_signed_url_and_delete(
    client: Mistral, batchgraph_sandbox: SandboxHandle, recorder: Recorder, spec: MistralSpec
) -> None:
    lines = [chat(f"r{i}") for i in range(3)]
    file_id = upload(client, lines)
    got = client.files.retrieve(file_id=file_id)
    assert got.deleted is False and got.filename == "batch.jsonl"
    assert read_lines(client, file_id) == lines

    signed = client.files.get_signed_url(file_id=file_id, expiry=2)
    assert signed.url.startswith(batchgraph_sandbox.base_url("mistral") + f"/v1/files/{file_id}")
    fetched = httpx.get(signed.url)  # the link itself is the credential
    assert fetched.content == jsonl(lines)
    tampered = httpx.get(signed.url[:-1] + ("0" if signed.url[-1] != "0" else "1"))
    assert tampered.status_code == 401

    deleted = client.files.delete(file_id=file_id)
    assert (deleted.id, deleted.object, deleted.deleted) == (file_id, "file", True)
    with pytest.raises(SDKError) as caught:
        client.files.retrieve(file_id=file_id)
    assert caught.value.status_code == 404
    assert recorder.check(spec) >= {"DeleteFileResponse", "GetSignedUrlResponse"}


def test_upload_keeps_visibility_and_expiry(client: Mistral, clock: FakeClock) -> None:
    uploaded = client.files.upload(
        file={"file_name": "notes.jsonl", "content": b'{"a": 1}\n'},
        purpose="batch",
        visibility="user",
        expiry=2,
    )
    assert uploaded.visibility == "user" and uploaded.expires_at == int(START) + 7200
    clock.now += 7201
    with pytest.raises(SDKError) as caught:
        client.files.retrieve(file_id=uploaded.id)
    assert caught.value.status_code == 404


def test_input_file_deleted_after_create_does_not_break_the_job(client: Mistral) -> None:
    job = create(client, [chat("a"), chat("b")])
    client.files.delete(file_id=job.input_files[0])
    done = client.batch.jobs.get(job_id=job.id)
    assert done.status == "SUCCESS" and done.succeeded_requests == 2


# -- cancel, delete, timeouts ---------------------------------------------------------------


def test_cancel_requests_then_cancels_keeping_the_finished_part(
    client: Mistral, clock: FakeClock
) -> None:
    job = create(client, [chat(f"r{i}") for i in range(200)])
    clock.now += 50
    cancelling = client.batch.jobs.cancel(job_id=job.id)
    assert cancelling.status == "CANCELLATION_REQUESTED"
    clock.now += 10
    done = client.batch.jobs.get(job_id=job.id)
    assert done.status == "CANCELLED" and done.completed_at is not None
    finished = read_lines(client, done.output_file) + read_lines(client, done.error_file)
    assert 0 < len(finished) == done.completed_requests < 200
    assert done.total_requests == 200


def test_timed_out_job_gives_back_its_finished_part(
    client: Mistral, batchgraph_sandbox: SandboxHandle, clock: FakeClock
) -> None:
    batchgraph_sandbox.configure(expire_fraction=0.4)
    job = create(client, [chat(f"r{i}") for i in range(300)], timeout_hours=1)
    clock.now += 1800
    assert client.batch.jobs.get(job_id=job.id).status == "RUNNING"
    clock.now += 1800
    done = client.batch.jobs.get(job_id=job.id)
    assert done.status == "TIMEOUT_EXCEEDED" and done.completed_at == done.created_at + 3600
    output = read_lines(client, done.output_file)
    assert len(output) == done.succeeded_requests == done.completed_requests
    assert 80 < len(output) < 160, "about 40 % of the requests should have run"


def test_delete_job_answers_deleted_and_forgets_it(
    client: Mistral, recorder: Recorder, spec: MistralSpec
) -> None:
    job = create(client, [chat("a")])
    deleted = client.batch.jobs.delete(job_id=job.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (job.id, "batch", True)
    with pytest.raises(SDKError) as caught:
        client.batch.jobs.get(job_id=job.id)
    assert caught.value.status_code == 404
    assert "DeleteBatchJobResponse" in recorder.check(spec)


# -- faults ---------------------------------------------------------------------------------


def test_thirty_percent_failure_rate_gives_retryable_error_lines(
    client: Mistral, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(failure_rate=0.3)
    done = client.batch.jobs.get(job_id=create(client, [chat(f"r{i}") for i in range(400)]).id)
    errors = read_lines(client, done.error_file)
    assert 80 < len(errors) < 160 and len(errors) == done.failed_requests
    assert done.succeeded_requests + done.failed_requests == 400
    for line in errors:
        assert line["response"]["status_code"] == 500 and line["error"] is None
        assert line["response"]["body"]["object"] == "error"
    errored = {line["custom_id"] for line in errors}
    succeeded = {line["custom_id"] for line in read_lines(client, done.output_file)}
    assert not errored & succeeded and len(errored | succeeded) == 400


def test_every_request_failing_ends_the_job_failed(
    client: Mistral, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(fail_ids=".")
    done = client.batch.jobs.get(job_id=create(client, [chat("a"), chat("b")]).id)
    assert done.status == "FAILED" and done.output_file is None
    assert done.failed_requests == 2 and len(read_lines(client, done.error_file)) == 2


def test_sdk_retry_config_rides_out_rate_limits_and_server_blips(
    client: Mistral, batchgraph_sandbox: SandboxHandle
) -> None:
    batchgraph_sandbox.configure(rate_limit_every=3, server_error_rate=0.3)
    jobs = [create(client, [chat(f"r{i}") for i in range(10)]) for _ in range(3)]
    for job in jobs:
        done = client.batch.jobs.get(job_id=job.id)
        assert done.status == "SUCCESS" and len(read_lines(client, done.output_file)) == 10
    assert len(client.batch.jobs.list().data or []) == 3


def test_without_retry_config_a_rate_limit_reaches_the_caller_as_429(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    batchgraph_sandbox.configure(rate_limit_every=1)
    bare = Mistral(api_key=SANDBOX_API_KEY, server_url=batchgraph_sandbox.base_url("mistral"))
    with pytest.raises(SDKError) as caught:
        bare.batch.jobs.list()
    assert caught.value.status_code == 429
    assert caught.value.headers.get("retry-after-ms") is not None


# -- refusals -------------------------------------------------------------------------------


def test_missing_key_is_401_and_unknown_ids_are_404(batchgraph_sandbox: SandboxHandle) -> None:
    url = batchgraph_sandbox.base_url("mistral") + "/v1/batch/jobs"
    assert httpx.get(url).status_code == 401
    unknown = "00000000-0000-4000-8000-000000000000"
    for method, path in [
        ("GET", f"/v1/batch/jobs/{unknown}"),
        ("POST", f"/v1/batch/jobs/{unknown}/cancel"),
        ("DELETE", f"/v1/batch/jobs/{unknown}"),
        ("GET", f"/v1/files/{unknown}"),
        ("GET", f"/v1/files/{unknown}/content"),
        ("GET", f"/v1/files/{unknown}/url"),
        ("DELETE", f"/v1/files/{unknown}"),
    ]:
        reply = raw(batchgraph_sandbox, method, path)
        assert reply.status_code == 404, (method, path)
        assert reply.json()["object"] == "error" and unknown in reply.json()["message"]


@pytest.mark.parametrize(
    ("lines", "status", "words"),
    [
        ([chat("a"), "{not json"], 400, "line 2: invalid JSON"),
        ([chat("a"), chat("a")], 400, "'a' is used more than once"),
        ([{"custom_id": "a"}], 400, "body is required"),
    ],
    ids=["malformed-line", "duplicate-custom-id", "missing-body"],
)
def test_bad_input_file_is_refused_naming_the_line(
    client: Mistral, lines: list[Any], status: int, words: str
) -> None:
    with pytest.raises(SDKError) as caught:
        create(client, lines)
    assert caught.value.status_code == status and words in caught.value.body
    assert json.loads(caught.value.body)["type"] == "invalid_request_error"


def test_missing_model_on_job_and_in_body_is_refused(client: Mistral) -> None:
    with pytest.raises(SDKError) as caught:
        create(client, [chat("a")], model=None)
    assert caught.value.status_code == 400 and "no model" in caught.value.body
    job = create(client, [chat("a", model=MODEL)], model=None)
    assert client.batch.jobs.get(job_id=job.id).status == "SUCCESS"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"endpoint": CHAT, "requests": [chat("a")] * 10_001, "model": MODEL}, ["requests"]),
        ({"endpoint": CHAT, "requests": [chat("a")], "timeout_hours": 169}, ["timeout_hours"]),
        ({"endpoint": CHAT, "requests": [chat("a")], "foo": 1}, ["foo"]),
        ({"endpoint": "/v2/chat", "requests": [chat("a")]}, ["endpoint"]),
        ({"endpoint": CHAT, "requests": [chat("a")], "metadata": {"k" * 33: "v"}}, None),
    ],
    ids=["over-10000-inline", "timeout-over-168", "extra-field", "unknown-endpoint", "long-key"],
)
def test_invalid_create_body_is_422_in_fastapi_detail_shape(
    batchgraph_sandbox: SandboxHandle, body: dict[str, Any], loc: list[str] | None
) -> None:
    reply = raw(batchgraph_sandbox, "POST", "/v1/batch/jobs", json=body)
    assert reply.status_code == 422
    error = reply.json()
    assert error["object"] == "error" and error["type"] == "invalid_request_error"
    detail = error["message"]["detail"][0]
    assert {"type", "loc", "msg", "input"} <= set(detail)
    if loc is not None:
        assert detail["loc"] == ["body", *loc]
    assert batchgraph_sandbox.creations("mistral") == []


def test_bad_request_bodies_come_back_as_lines_of_the_error_file(client: Mistral) -> None:
    lines = [
        chat("ok"),
        chat("hot", temperature=3),
        {
            "custom_id": "last-assistant",
            "body": {"messages": [{"role": "assistant", "content": "x"}]},
        },
        {"custom_id": "no-messages", "body": {"max_tokens": 5}},
    ]
    done = client.batch.jobs.get(job_id=create(client, lines).id)
    errors = {line["custom_id"]: line["response"] for line in read_lines(client, done.error_file)}
    assert set(errors) == {"hot", "last-assistant", "no-messages"}
    assert errors["hot"]["status_code"] == 422
    assert errors["hot"]["body"]["message"]["detail"][0]["loc"] == ["body", "temperature"]
    assert errors["last-assistant"]["status_code"] == 400
    assert errors["no-messages"]["body"]["message"]["detail"][0]["type"] == "missing"


def test_structured_output_answer_is_json_following_the_schema(client: Mistral) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["name", "year"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "book", "schema": schema}}
    done = client.batch.jobs.get(
        job_id=create(client, [chat("a", response_format=response_format)]).id
    )
    (line,) = read_lines(client, done.output_file)
    content = line["response"]["body"]["choices"][0]["message"]["content"]
    Draft202012Validator(schema).validate(json.loads(content))


# -- state on disk, creations log, scale ----------------------------------------------------


def test_restarted_sandbox_keeps_files_and_jobs(tmp_path: Path) -> None:
    with run_sandbox(tmp_path, SandboxConfig.instant()) as first:
        client = Mistral(api_key=SANDBOX_API_KEY, server_url=first.base_url("mistral"))
        job = create(client, [chat("a"), chat("b")], metadata={"batchgraph_tag": "bgx1c0a0"})
    with run_sandbox(tmp_path) as second:
        client = Mistral(api_key=SANDBOX_API_KEY, server_url=second.base_url("mistral"))
        again = client.batch.jobs.get(job_id=job.id)
        assert again.status == "SUCCESS" and len(read_lines(client, again.output_file)) == 2
        assert [c.metadata for c in second.creations("mistral")] == [{"batchgraph_tag": "bgx1c0a0"}]


def test_creations_log_counts_each_job_with_its_metadata(
    client: Mistral, batchgraph_sandbox: SandboxHandle
) -> None:
    create(client, [chat("a"), chat("b")], metadata={"batchgraph_tag": "bgj1c0a0"})
    client.batch.jobs.create(requests=[chat("c")], model=MODEL, endpoint=CHAT)
    log = batchgraph_sandbox.creations("mistral")
    assert [(c.request_count, c.metadata) for c in log] == [
        (2, {"batchgraph_tag": "bgj1c0a0"}),
        (1, None),
    ]


@pytest.mark.slow
def test_hundred_thousand_line_batch_is_handled(client: Mistral) -> None:
    """How fast is for `make bench` (bench_sandbox); here, that nothing is lost on the way."""
    lines = [chat(f"r{i}", f"question number {i}") for i in range(100_000)]
    job = create(client, lines)
    done = client.batch.jobs.get(job_id=job.id)
    count = len(read_lines(client, done.output_file))
    assert done.status == "SUCCESS" and count == 100_000


def test_created_after_in_the_future_finds_nothing(client: Mistral) -> None:
    create(client, [chat("a")])
    later = datetime.now(UTC) + timedelta(days=1)
    assert client.batch.jobs.list(created_after=later).total == 0


@pytest.mark.slow
def test_over_100000_requests_is_refused_unless_limits_are_off(
    client: Mistral, batchgraph_sandbox: SandboxHandle
) -> None:
    file_id = upload(client, [chat(f"r{i}") for i in range(100_001)])
    with pytest.raises(SDKError) as caught:
        client.batch.jobs.create(input_files=[file_id], model=MODEL, endpoint=CHAT)
    assert caught.value.status_code == 400 and "at most 100000 requests" in caught.value.body
    batchgraph_sandbox.configure(enforce_limits=False)
    job = client.batch.jobs.create(input_files=[file_id], model=MODEL, endpoint=CHAT)
    assert client.batch.jobs.get(job_id=job.id).total_requests == 100_001


def test_a_signed_link_stops_working_when_it_expires(client: Mistral, clock: FakeClock) -> None:
    file_id = upload(client, [chat("r0")])
    signed = client.files.get_signed_url(file_id=file_id, expiry=1)

    assert httpx.get(signed.url).status_code == 200
    clock.now += 3600 + 1
    assert httpx.get(signed.url).status_code == 401
