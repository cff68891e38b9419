"""Batch files in a provider's own format reach that provider as written, and the same requests
in plain JSONL run on every provider or are refused line by line, naming field and provider.

The corpora are in tests/corpus (see its README). What reached the sandbox is read back from
the files and request lists it keeps on disk, and compared with the input field by field.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError, InputError
from batchgraph.io import ReadOptions, validate_input
from batchgraph.model import OutputSchema
from batchgraph.providers import adapter_class
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import JobStatus

from .conftest import MODELS

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
NO_WAIT = Backoff(initial=0.0, cap=0.0)


def corpus_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CORPUS / name).read_text().splitlines()]


def run_corpus(bg: Batchgraph, tmp_path: Path, name: str, provider: str, **options: Any) -> str:
    source = tmp_path / name
    shutil.copy(CORPUS / name, source)
    job_id = bg.submit(source, provider=provider, options=ReadOptions(**options))
    view = run_job(bg, job_id, NO_WAIT)
    assert view.job.status is JobStatus.DONE
    return job_id


def input_ids(bg: Batchgraph, job_id: str) -> dict[str, str]:
    """Wire custom_id (the ledger position) → the input's own id."""
    return {str(row.idx): row.request.id for row in bg.ledger(job_id)}


def sent_openai(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    store = sandbox.ctx.store
    lines: list[dict[str, Any]] = []
    for creation in sandbox.creations("openai"):
        record = store.get_batch("openai", creation.batch_id)
        assert record is not None
        path = store.file_path(record.spec["input_file_id"])
        lines.extend(json.loads(line) for line in path.read_text().splitlines())
    return lines


def sent_anthropic(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    store = sandbox.ctx.store
    lines: list[dict[str, Any]] = []
    for creation in sandbox.creations("anthropic"):
        path = store.file_path(f"{creation.batch_id}.requests.jsonl")
        lines.extend(json.loads(line) for line in path.read_text().splitlines())
    return lines


def sent_mistral(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    store = sandbox.ctx.store
    lines: list[dict[str, Any]] = []
    for creation in sandbox.creations("mistral"):
        record = store.get_batch("mistral", creation.batch_id)
        assert record is not None
        for file_id in record.spec["input_files"]:
            text = store.file_path(file_id).read_text()
            lines.extend(json.loads(line) for line in text.splitlines())
    return lines


def results_of(bg: Batchgraph, job_id: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    out = bg.write_results(job_id, tmp_path / "results.jsonl")
    return {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}


def openai_format(bg: Batchgraph, job_id: str, tmp_path: Path) -> dict[str, Any]:
    """`--results-format openai` output, read as a script for OpenAI's output files would."""
    out = bg.write_results(job_id, tmp_path / "openai.jsonl", results_format="openai")
    read: dict[str, Any] = {}
    for line in out.read_text().splitlines():
        entry = json.loads(line)
        body = entry["response"]["body"]
        kind = CreateEmbeddingResponse if body["object"] == "list" else ChatCompletion
        read[entry["custom_id"]] = kind.model_validate(body)
    return read


def assert_calls(record: dict[str, Any], tool: str | None = None) -> None:
    """The answer called a tool (`tool`, when one was forced) with JSON-object arguments."""
    [call] = record["tool_calls"]
    assert call["type"] == "function" and call["id"]
    assert tool is None or call["function"]["name"] == tool
    assert isinstance(json.loads(call["function"]["arguments"]), dict)


def assert_answers_in_text(record: dict[str, Any]) -> None:
    assert record["tool_calls"] is None and record["text"]


def assert_same_fields(sent: dict[str, Any], written: dict[str, Any], where: str) -> None:
    """Field by field, so a difference names its field."""
    assert sorted(sent) == sorted(written), where
    for key, value in written.items():
        assert sent[key] == value, f"{where}: field {key!r}"


def test_openai_batch_corpus_reaches_openai_as_written(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    written = {line["custom_id"]: line for line in corpus_lines("openai_batch.jsonl")}
    assert len(written) >= 40
    urls = {line["url"] for line in written.values()}
    assert urls == {"/v1/chat/completions", "/v1/responses", "/v1/embeddings"}

    job_id = run_corpus(bg, tmp_path, "openai_batch.jsonl", "sandbox-openai")

    ids = input_ids(bg, job_id)
    sent = sent_openai(batchgraph_sandbox)
    assert len(sent) == len(written)
    for line in sent:
        original = written[ids[line["custom_id"]]]
        assert line["url"] == original["url"]
        assert_same_fields(line["body"], original["body"], original["custom_id"])
    results = results_of(bg, job_id, tmp_path)
    assert {r["status"] for r in results.values()} == {"succeeded"}
    assert_calls(results["tools-auto"], "get_weather")
    assert_calls(results["tools-named"], "lookup_order")
    assert_calls(results["resp-tools"], "get_weather")
    assert results["tools-auto"]["stop_reason"] == "tool_calls"
    assert_answers_in_text(results["tool-result"])
    assert_answers_in_text(results["tools-none"])
    assert results["logprobs"]["logprobs"]["content"][0]["top_logprobs"]
    assert results["reasoning-medium"]["reasoning_tokens"] > 0
    assert results["resp-reasoning"]["reasoning_tokens"] > 0
    assert results["json-mode"]["parsed"] is not None
    openai_lines = openai_format(bg, job_id, tmp_path)
    assert set(openai_lines) == set(written)
    call = openai_lines["tools-auto"].choices[0].message.tool_calls
    assert call is not None and call[0].function.name == "get_weather"
    embeddings = {r["id"]: len(r["embedding"]) for r in results.values() if r["embedding"]}
    assert embeddings == {
        "emb-text": 1536,
        "emb-list": 1536,
        "emb-dimensions": 256,
        "emb-base64": 1536,
        "emb-user": 1536,
    }


def test_anthropic_batch_corpus_reaches_anthropic_as_written(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    written = {line["custom_id"]: line for line in corpus_lines("anthropic_batch.jsonl")}
    assert len(written) >= 20

    job_id = run_corpus(bg, tmp_path, "anthropic_batch.jsonl", "sandbox-anthropic")

    ids = input_ids(bg, job_id)
    sent = sent_anthropic(batchgraph_sandbox)
    assert len(sent) == len(written)
    for item in sent:
        ours = item["custom_id"].partition("-")[2]  # the batch tag rides in front
        original = written[ids[ours]]
        assert_same_fields(item["params"], original["params"], original["custom_id"])
    results = results_of(bg, job_id, tmp_path)
    assert {r["status"] for r in results.values()} == {"succeeded"}
    assert_calls(results["tools-auto"], "get_weather")
    assert results["tools-auto"]["stop_reason"] == "tool_use"
    assert_answers_in_text(results["tool-result"])


def test_mistral_batch_corpus_reaches_mistral_as_written(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    written = {line["custom_id"]: line for line in corpus_lines("mistral_batch.jsonl")}
    assert len(written) >= 20

    job_id = run_corpus(
        bg, tmp_path, "mistral_batch.jsonl", "sandbox-mistral", model="mistral-small-latest"
    )

    ids = input_ids(bg, job_id)
    sent = sent_mistral(batchgraph_sandbox)
    assert len(sent) == len(written)
    for line in sent:
        original = written[ids[line["custom_id"]]]
        assert_same_fields(line["body"], original["body"], original["custom_id"])
    results = results_of(bg, job_id, tmp_path)
    assert {r["status"] for r in results.values()} == {"succeeded"}
    assert_calls(results["tools-any"], "get_weather")
    assert_calls(results["tools-named"], "lookup_order")
    assert results["tools-any"]["stop_reason"] == "tool_calls"
    assert_answers_in_text(results["tool-result"])


REFUSED = {
    "openai": {},
    "anthropic": {
        "seed": "seed",
        "n-two": "n",
        "logprobs": "logprobs",
        "metadata": "metadata",
        "service-tier": "service_tier",
        "json-mode": "response_format",
        "penalties": "frequency_penalty",
        "everything": "seed",
        "reasoning-medium": "reasoning_effort",
    },
    "mistral": {
        "logprobs": "logprobs",
        "metadata": "metadata",
        "service-tier": "service_tier",
        "user-field": "user",
        "reasoning-medium": "reasoning_effort",
        "reasoning-low": "reasoning_effort",
    },
}
"""Per provider, the plain corpus lines it refuses and the field each refusal names (the
docs/request-fields.md table says why)."""


@pytest.mark.parametrize("provider", ["openai", "anthropic", "mistral"])
def test_plain_corpus_runs_everywhere_or_is_refused_line_by_line(
    provider: str, bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    lines = corpus_lines("plain_chat.jsonl")
    source = tmp_path / "plain.jsonl"
    shutil.copy(CORPUS / "plain_chat.jsonl", source)
    options = ReadOptions(model=MODELS[provider])
    refused = REFUSED[provider]
    line_of = {line["id"]: number for number, line in enumerate(lines, start=1)}

    if refused:
        with pytest.raises(InputError) as caught:
            validate_input(source, options, adapter_class(provider).check_request, limit=len(lines))
        # A problem several lines share is listed once, naming the other lines in `also`.
        problems = {line: p for p in caught.value.problems for line in (p.line, *p.also)}
        assert sorted(problems) == sorted(line_of[i] for i in refused)
        for request_id, field in refused.items():
            problem = problems[line_of[request_id]]
            assert f"field {field} cannot go to" in problem.problem, request_id
            assert provider.capitalize() in problem.problem.replace("OpenAI", "Openai")

    kept = [line for line in lines if line["id"] not in refused]
    source.write_text("".join(json.dumps(line) + "\n" for line in kept))
    job_id = bg.submit(source, provider=f"sandbox-{provider}", options=options)
    view = run_job(bg, job_id, NO_WAIT)
    assert view.job.status is JobStatus.DONE
    assert view.counts["succeeded"] == len(kept)


def test_a_model_the_provider_does_not_list_is_refused_before_sending(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "prompt": "hi"}\n')

    with pytest.raises(ConfigError) as caught:
        bg.submit(source, provider="openai", options=ReadOptions(model="gpt-9-turbo"))

    message = str(caught.value)
    assert message.startswith("--model gpt-9-turbo: model 'gpt-9-turbo' is not one OpenAI lists")
    assert "did you mean gpt-4-turbo" in message and message.endswith("nothing was sent")
    assert batchgraph_sandbox.creations() == []
    assert bg.jobs() == []


def test_a_line_naming_an_unlisted_model_is_named_with_its_line(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "yo", "model": "claude-haiku-9"}\n'
    )

    with pytest.raises(InputError) as caught:
        bg.submit(source, provider="anthropic", options=ReadOptions(model="claude-haiku-4-5"))

    [problem] = caught.value.problems
    assert problem.line == 2
    assert "'claude-haiku-9' is not one Anthropic lists" in problem.problem
    assert "claude-haiku-4-5" in problem.fix
    assert batchgraph_sandbox.creations() == []


def test_a_schema_jobs_parquet_results_have_typed_columns_beside_the_inputs(
    bg: Batchgraph, tmp_path: Path
) -> None:
    import pandas as pd

    source = tmp_path / "reviews.csv"
    source.write_text("review_id,text\nr1,Arrived on time.\nr2,Broke after a week.\n")
    schema = OutputSchema(
        "review",
        {
            "type": "object",
            "properties": {
                "sentiment": {"type": "string", "enum": ["positive", "negative"]},
                "confidence": {"type": "number"},
                "stars": {"type": "integer"},
                "topics": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["sentiment", "confidence", "stars", "topics"],
            "additionalProperties": False,
        },
    )
    options = ReadOptions(
        model="gpt-4o-mini",
        template="Classify: {text}",
        id_column="review_id",
        output_schema=schema,
    )
    job_id = bg.submit(source, provider="sandbox-openai", options=options)
    assert run_job(bg, job_id, NO_WAIT).job.status is JobStatus.DONE

    frame = pd.read_parquet(bg.write_results(job_id, tmp_path / "out.parquet"))

    assert list(frame.columns[:2]) == ["review_id", "text"]  # the input's own names
    assert list(frame["text"]) == ["Arrived on time.", "Broke after a week."]
    assert list(frame["result_status"]) == ["succeeded", "succeeded"]
    assert (frame.dtypes["result_answer_confidence"], frame.dtypes["result_answer_stars"]) == (
        "float64",
        "int64",
    )
    assert set(frame["result_answer_sentiment"]) <= {"positive", "negative"}
    for name in ("result_embedding", "result_tool_calls", "result_error_code"):
        assert name not in frame.columns  # nothing this job produced
