"""The hand-written baseline for Anthropic: the same job with nothing but the `anthropic` SDK.

Turns each OpenAI batch line into a Message Batches request, sends at most 100,000 per create
call (Anthropic takes requests inline, no file), polls every batch with `batchgraph run`'s
cadence (see `polling`), streams the results of each ended batch through the SDK, and writes one
JSON line per request in the order Anthropic reports them. No ledger, no checkpoints, no
validation beyond the provider's, no retries.

    ANTHROPIC_API_KEY=… ANTHROPIC_BASE_URL=… \
        python -m benchmarks.baseline_anthropic IN OUT [POLL_MAX]
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from anthropic import Anthropic
from benchmarks import polling
from benchmarks.polling import pauses

MAX_REQUESTS = 100_000


def requests(source: Path) -> Iterator[list[dict[str, Any]]]:
    """The input as lists of at most `MAX_REQUESTS` Message Batches requests."""
    batch: list[dict[str, Any]] = []
    with source.open("rb") as lines:
        for line in lines:
            entry = json.loads(line)
            body = entry["body"]
            params = {
                "model": body["model"],
                "max_tokens": body["max_tokens"],
                "messages": body["messages"],
            }
            batch.append({"custom_id": entry["custom_id"], "params": params})
            if len(batch) == MAX_REQUESTS:
                yield batch
                batch = []
    if batch:
        yield batch


def download(client: Anthropic, batch_id: str, out: IO[str]) -> int:
    count = 0
    for entry in client.messages.batches.results(batch_id):
        record: dict[str, Any] = {"id": entry.custom_id, "status": entry.result.type}
        if entry.result.type == "succeeded":
            message = entry.result.message
            block = message.content[0] if message.content else None
            record["text"] = getattr(block, "text", None)
            record["input_tokens"] = message.usage.input_tokens
            record["output_tokens"] = message.usage.output_tokens
        elif entry.result.type == "errored":
            record["error"] = entry.result.error.to_dict()
        out.write(json.dumps(record) + "\n")
        count += 1
    return count


def run(source: Path, target: Path, poll_max: float) -> int:
    client = Anthropic()
    waiting = [client.messages.batches.create(requests=part).id for part in requests(source)]  # type: ignore[arg-type]
    written = 0
    delays = pauses(poll_max)
    with target.open("w", encoding="utf-8") as out:
        while True:
            for batch_id in list(waiting):
                if client.messages.batches.retrieve(batch_id).processing_status != "ended":
                    continue
                waiting.remove(batch_id)
                written += download(client, batch_id, out)
            if not waiting:
                return written
            time.sleep(next(delays))


if __name__ == "__main__":
    polling.main(run)
