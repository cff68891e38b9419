"""The hand-written baseline for Gemini: the same job with nothing but the `google-genai` SDK.

Turns each OpenAI batch line into a Gemini batch line (`key`, `request`), writes upload files of
at most 100,000 lines, uploads each and creates its batch for the model, polls every batch with
`batchgraph run`'s cadence (see `polling`), downloads the responses file of each finished batch
to a temporary file (the SDK's streaming download) and writes one JSON line per request in the
order Gemini reports them. No ledger, no checkpoints, no validation beyond the provider's, no
retries.

    GEMINI_API_KEY=… GEMINI_BASE_URL=… python -m benchmarks.baseline_gemini IN OUT [POLL_MAX]
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from benchmarks import polling
from benchmarks.polling import pauses
from google import genai
from google.genai import types

MAX_LINES = 100_000
DONE = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
ROLES = {"user": "user", "assistant": "model"}


def gemini_line(entry: dict[str, Any]) -> dict[str, Any]:
    body = entry["body"]
    request: dict[str, Any] = {
        "contents": [
            {"role": ROLES[m["role"]], "parts": [{"text": m["content"]}]}
            for m in body["messages"]
            if m["role"] in ROLES
        ]
    }
    if body.get("max_tokens") is not None:
        request["generationConfig"] = {"maxOutputTokens": body["max_tokens"]}
    return {"key": entry["custom_id"], "request": request}


def split(source: Path, folder: Path) -> list[tuple[Path, str]]:
    """Upload files of at most `MAX_LINES` lines, each with its model."""
    chunks: list[tuple[Path, str]] = []
    out: IO[str] | None = None
    with source.open("rb") as lines:
        for n, line in enumerate(lines):
            entry = json.loads(line)
            if n % MAX_LINES == 0:
                if out is not None:
                    out.close()
                chunks.append((folder / f"chunk-{len(chunks)}.jsonl", entry["body"]["model"]))
                out = chunks[-1][0].open("w", encoding="utf-8")
            assert out is not None
            out.write(json.dumps(gemini_line(entry)) + "\n")
    if out is not None:
        out.close()
    return chunks


def submit(client: genai.Client, chunk: Path, model: str) -> str:
    uploaded = client.files.upload(file=chunk, config={"mime_type": "jsonl"})
    job = client.batches.create(model=model, src=str(uploaded.name))
    return str(job.name)


def result_line(entry: dict[str, Any]) -> dict[str, Any]:
    if "error" in entry:
        return {"id": entry["key"], "status": "failed", "error": entry["error"]}
    response = entry["response"]
    usage = response.get("usageMetadata") or {}
    parts = response["candidates"][0]["content"]["parts"]
    return {
        "id": entry["key"],
        "status": "succeeded",
        "text": "".join(p.get("text", "") for p in parts),
        "input_tokens": usage.get("promptTokenCount"),
        "output_tokens": usage.get("candidatesTokenCount"),
    }


def download(client: genai.Client, file_name: str, out: IO[str]) -> int:
    count = 0
    with tempfile.TemporaryFile() as spool:
        client.files.download(file=file_name, destination=spool)
        spool.seek(0)
        for line in spool:
            if line.strip():
                out.write(json.dumps(result_line(json.loads(line))) + "\n")
                count += 1
    return count


def run(source: Path, target: Path, poll_max: float) -> int:
    options = types.HttpOptions(base_url=os.environ["GEMINI_BASE_URL"], api_version="v1beta")
    client = genai.Client(api_key=os.environ["GEMINI_API_KEY"], http_options=options)
    with tempfile.TemporaryDirectory() as tmp:
        waiting = [submit(client, path, model) for path, model in split(source, Path(tmp))]
    written = 0
    delays = pauses(poll_max)
    with target.open("w", encoding="utf-8") as out:
        while True:
            for name in list(waiting):
                job = client.batches.get(name=name)
                if job.state is None or job.state.value not in DONE:
                    continue
                waiting.remove(name)
                if job.dest is not None and job.dest.file_name:
                    written += download(client, job.dest.file_name, out)
            if not waiting:
                return written
            time.sleep(next(delays))


if __name__ == "__main__":
    polling.main(run)
