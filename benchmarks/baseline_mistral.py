"""The hand-written baseline for Mistral: the same job with nothing but the `mistralai` SDK.

Turns each OpenAI batch line into a Mistral batch line (`custom_id`, `body`), writes upload files
of at most 100,000 lines, uploads each and creates its job, polls every job with `batchgraph
run`'s cadence (see `polling`), streams the output and error files of each finished job, and
writes one JSON line per request in the order Mistral reports them. No ledger, no checkpoints,
no validation beyond the provider's, no retries.

    MISTRAL_API_KEY=… MISTRAL_BASE_URL=… python -m benchmarks.baseline_mistral IN OUT [POLL_MAX]
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
from mistralai.client import Mistral

MAX_LINES = 100_000
DONE = {"SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"}


def split(source: Path, folder: Path) -> list[tuple[Path, str]]:
    """Upload files of at most `MAX_LINES` lines, each with its model."""
    chunks: list[tuple[Path, str]] = []
    out: IO[str] | None = None
    with source.open("rb") as lines:
        for n, line in enumerate(lines):
            entry = json.loads(line)
            body = dict(entry["body"])
            model = body.pop("model")
            if n % MAX_LINES == 0:
                if out is not None:
                    out.close()
                chunks.append((folder / f"chunk-{len(chunks)}.jsonl", model))
                out = chunks[-1][0].open("w", encoding="utf-8")
            assert out is not None
            out.write(json.dumps({"custom_id": entry["custom_id"], "body": body}) + "\n")
    if out is not None:
        out.close()
    return chunks


def submit(client: Mistral, chunk: Path, model: str) -> str:
    with chunk.open("rb") as data:
        uploaded = client.files.upload(
            file={"file_name": chunk.name, "content": data}, purpose="batch"
        )
    job = client.batch.jobs.create(
        input_files=[uploaded.id], model=model, endpoint="/v1/chat/completions"
    )
    return job.id


def result_line(entry: dict[str, Any]) -> dict[str, Any]:
    response = entry.get("response") or {}
    body = response.get("body") or {}
    if entry.get("error") or (response.get("status_code") or 200) >= 400:
        return {"id": entry["custom_id"], "status": "failed", "error": entry.get("error") or body}
    usage = body.get("usage") or {}
    return {
        "id": entry["custom_id"],
        "status": "succeeded",
        "text": body["choices"][0]["message"]["content"],
        "input_tokens": usage.get("prompt_tokens"),
        "output_tokens": usage.get("completion_tokens"),
    }


def download(client: Mistral, file_id: str, out: IO[str]) -> int:
    count = 0
    response = client.files.download(file_id=file_id)
    try:
        for line in response.iter_lines():
            if line.strip():
                out.write(json.dumps(result_line(json.loads(line))) + "\n")
                count += 1
    finally:
        response.close()
    return count


def run(source: Path, target: Path, poll_max: float) -> int:
    client = Mistral(
        api_key=os.environ["MISTRAL_API_KEY"], server_url=os.environ["MISTRAL_BASE_URL"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        waiting = [submit(client, path, model) for path, model in split(source, Path(tmp))]
    written = 0
    delays = pauses(poll_max)
    with target.open("w", encoding="utf-8") as out:
        while True:
            for job_id in list(waiting):
                job = client.batch.jobs.get(job_id=job_id)
                if job.status not in DONE:
                    continue
                waiting.remove(job_id)
                for file_id in (job.output_file, job.error_file):
                    if file_id:
                        written += download(client, file_id, out)
            if not waiting:
                return written
            time.sleep(next(delays))


if __name__ == "__main__":
    polling.main(run)
