"""A job on the user's own OpenAI-compatible server (`--provider openai-compatible --base-url`),
through the real path: the address stored with the job, the official `openai` SDK over HTTP to
the sandbox's local-server personality (`/local/v1`), which needs no key. Structured output
works where the server follows JSON schemas, and stops the run with one message where it
refuses them (as vLLM and llama.cpp without structured output do), the job resumable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError, FeatureUnsupported
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle
from tests.graph.conftest import write_prompts

MODEL = "llama3.1:8b"
SCHEMA = {
    "type": "object",
    "properties": {"even": {"type": "boolean"}},
    "required": ["even"],
    "additionalProperties": False,
}


def run(bg: Batchgraph, job_id: str) -> None:
    run_job(bg, job_id, Backoff(initial=0.01, cap=0.05), sleep=lambda _s: None)


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Batchgraph]:
    """A Batchgraph reaching providers as a user's does: no test factory in between."""
    with Batchgraph.open(str(tmp_path / "jobs.db"), data_dir=tmp_path / "home") as instance:
        yield instance


def local_url(sandbox: SandboxHandle) -> str:
    return sandbox.base_url("local")


def schema_job(bg: Batchgraph, sandbox: SandboxHandle, tmp_path: Path, count: int) -> str:
    """A stored job of `count` prompts asking for `SCHEMA`, on the sandbox's local server."""
    schema = tmp_path / "even.schema.json"
    schema.write_text(json.dumps(SCHEMA))
    return bg.create(
        write_prompts(tmp_path / "in.jsonl", count),
        provider="openai-compatible",
        base_url=local_url(sandbox),
        options=ReadOptions(model=MODEL).with_schema_file(schema),
    )


def test_a_job_runs_on_the_stored_address_resumes_without_it_and_matches_a_batch_run(
    own: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 120)
    job_id = own.create(
        source,
        provider="openai-compatible",
        base_url=local_url(batchgraph_sandbox),
        options=ReadOptions(model=MODEL),
    )
    own.close()

    # Another process, later: nothing but the job id.
    with Batchgraph.open(str(tmp_path / "jobs.db"), data_dir=tmp_path / "home") as later:
        run(later, job_id)
        job = later.store.get_job(job_id)
        rows = list(later.results(job_id))
        report = later.report(job_id)
        mistral = later.submit(
            source, provider="sandbox-mistral", options=ReadOptions(model="mistral-small-latest")
        )
        run(later, mistral)
        by_batch = list(later.results(mistral))

    assert job.spec["host"] == {"base_url": local_url(batchgraph_sandbox)}
    assert [r["id"] for r in rows] == [f"q{n}" for n in range(120)]
    assert {r["status"] for r in rows} == {"succeeded"}
    answered = [c for c in batchgraph_sandbox.sync_calls("local") if c.status == 200]
    assert len(answered) == 120 and {c.model for c in answered} == {MODEL}
    assert report["accounted"] and report["execution"]["sync_requests"] == 120
    assert report["paid_usd"] == 0.0
    assert report["models"][0]["price_source"].startswith("no charge: your own")
    assert [r["id"] for r in by_batch] == [r["id"] for r in rows]
    assert [sorted(r) for r in by_batch] == [sorted(r) for r in rows]


def test_embeddings_run_on_the_own_server(
    own: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    source = tmp_path / "texts.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"t{n}", "input": f"text {n}"}) + "\n" for n in range(5))
    )
    job_id = own.submit(
        source,
        provider="openai-compatible",
        base_url=local_url(batchgraph_sandbox),
        options=ReadOptions(model="nomic-embed-text"),
    )
    run(own, job_id)

    rows = list(own.results(job_id))
    assert {r["status"] for r in rows} == {"succeeded"}
    assert all(isinstance(r["embedding"], list) and r["embedding"] for r in rows)


def test_a_schema_is_answered_as_json_where_the_server_follows_it(
    own: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    job_id = schema_job(own, batchgraph_sandbox, tmp_path, 30)
    run(own, job_id)

    rows = list(own.results(job_id))
    assert {r["status"] for r in rows} == {"succeeded"}
    assert all(isinstance(r["parsed"]["even"], bool) for r in rows)


@pytest.mark.parametrize(
    ("flavour", "status", "evidence"),
    [("vllm", 400, "HTTP 400"), ("llamacpp", 500, "HTTP 500"), ("ignore", 200, "not JSON")],
)
def test_a_server_refusing_schemas_stops_the_job_after_one_call_and_it_resumes(
    own: Batchgraph,
    batchgraph_sandbox: SandboxHandle,
    tmp_path: Path,
    flavour: str,
    status: int,
    evidence: str,
) -> None:
    batchgraph_sandbox.configure(local_json_schema=flavour)
    job_id = schema_job(own, batchgraph_sandbox, tmp_path, 40)

    with pytest.raises(FeatureUnsupported) as stop:
        run(own, job_id)

    message = str(stop.value)
    assert "cannot follow a JSON schema" in message and evidence in message
    assert "--json-schema" in message and f"batchgraph run --job {job_id}" in message
    calls = batchgraph_sandbox.sync_calls("local")
    assert [c.status for c in calls] == [status], "one call, not the whole job"
    counts = own.view(job_id).counts
    assert counts["queued"] == 40 and sum(counts.values()) == 40

    batchgraph_sandbox.configure(local_json_schema="follow")  # the server is upgraded
    run(own, job_id)

    rows = list(own.results(job_id))
    assert {r["status"] for r in rows} == {"succeeded"}
    answered = [c for c in batchgraph_sandbox.sync_calls("local") if c.status == 200]
    # An answer that ignored the schema is not kept: that one request is asked again.
    assert len(answered) == 40 + (status == 200)
    assert all(isinstance(r["parsed"]["even"], bool) for r in rows)


def test_the_key_is_read_from_the_named_variable_and_never_stored(
    own: Batchgraph,
    batchgraph_sandbox: SandboxHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-local-3f9a1c"
    monkeypatch.setenv("MY_VLLM_KEY", secret)
    source = write_prompts(tmp_path / "in.jsonl", 3)
    job_id = own.submit(
        source,
        provider="openai-compatible",
        base_url=local_url(batchgraph_sandbox),
        api_key_env="MY_VLLM_KEY",
        options=ReadOptions(model=MODEL),
    )
    run(own, job_id)

    adapter = own.deps.provider(own.store.get_job(job_id))
    assert adapter.settings.api_key == secret
    assert own.store.get_job(job_id).spec["host"]["key_variable"] == "MY_VLLM_KEY"
    own.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("jobs.db*") if p.is_file())
    assert secret.encode() not in stored


def test_a_missing_address_or_unset_key_variable_is_refused_naming_the_flag(
    own: Batchgraph, batchgraph_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 3)
    options = ReadOptions(model=MODEL)

    with pytest.raises(ConfigError, match="add --base-url URL"):
        own.create(source, provider="openai-compatible", options=options)
    with pytest.raises(ConfigError, match="--api-key-env NOT_SET_ANYWHERE: the variable"):
        own.create(
            source,
            provider="openai-compatible",
            base_url=local_url(batchgraph_sandbox),
            api_key_env="NOT_SET_ANYWHERE",
            options=options,
        )
    with pytest.raises(ConfigError, match="--base-url belong to --provider openai-compatible"):
        own.create(source, provider="openai", base_url="http://x/v1", options=options)
    assert own.jobs() == []
