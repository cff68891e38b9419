"""The hand-written baseline for OpenAI: the same job with nothing but the official `openai` SDK.

Splits an OpenAI batch JSONL file into upload files of at most 50,000 lines, uploads each and
creates its batch, polls every batch with `batchgraph run`'s cadence (see `polling`), streams the
output and error files of each finished batch, and writes one JSON line per request (id, status,
text or error, tokens) in the order the provider reports them. No ledger, no checkpoints, no
validation beyond what the provider does, no retries.

    OPENAI_API_KEY=… OPENAI_BASE_URL=… python -m benchmarks.baseline_openai IN OUT [POLL_MAX]
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from benchmarks import polling
from benchmarks.polling import pauses
from openai import OpenAI

MAX_LINES = 50_000
DONE = {"completed", "failed", "expired", "cancelled"}


def split(source: Path, folder: Path) -> list[Path]:
    """The input as upload files of at most `MAX_LINES` lines each."""
    chunks: list[Path] = []
    out: IO[bytes] | None = None
    with source.open("rb") as lines:
        for n, line in enumerate(lines):
            if n % MAX_LINES == 0:
                if out is not None:
                    out.close()
                chunks.append(folder / f"chunk-{len(chunks)}.jsonl")
                out = chunks[-1].open("wb")
            assert out is not None
            out.write(line)
    if out is not None:
        out.close()
    return chunks


def submit(client: OpenAI, chunk: Path) -> str:
    with chunk.open("rb") as data:
        uploaded = client.files.create(file=(chunk.name, data), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    return batch.id


def result_line(entry: dict[str, Any]) -> dict[str, Any]:
    response = entry.get("response") or {}
    body = response.get("body") or {}
    usage = body.get("usage") or {}
    if entry.get("error") or response.get("status_code", 0) >= 400:
        return {"id": entry["custom_id"], "status": "failed", "error": entry.get("error") or body}
    return {
        "id": entry["custom_id"],
        "status": "succeeded",
        "text": body["choices"][0]["message"]["content"],
        "input_tokens": usage.get("prompt_tokens"),
        "output_tokens": usage.get("completion_tokens"),
    }


def download(client: OpenAI, file_id: str, out: IO[str]) -> int:
    count = 0
    with client.files.with_streaming_response.content(file_id) as response:
        for line in response.iter_lines():
            if line.strip():
                out.write(json.dumps(result_line(json.loads(line))) + "\n")
                count += 1
    return count


def run(source: Path, target: Path, poll_max: float) -> int:
    client = OpenAI()
    with tempfile.TemporaryDirectory() as tmp:
        batch_ids = [submit(client, chunk) for chunk in split(source, Path(tmp))]
    written = 0
    waiting = list(batch_ids)
    delays = pauses(poll_max)
    with target.open("w", encoding="utf-8") as out:
        while True:
            for batch_id in list(waiting):
                batch = client.batches.retrieve(batch_id)
                if batch.status not in DONE:
                    continue
                waiting.remove(batch_id)
                for file_id in (batch.output_file_id, batch.error_file_id):
                    if file_id:
                        written += download(client, file_id, out)
            if not waiting:
                return written
            time.sleep(next(delays))


if __name__ == "__main__":
    polling.main(run)
