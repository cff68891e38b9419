"""The hand-written baseline for synchronous calls: `AsyncOpenAI` and an `asyncio.Semaphore`.

Reads an OpenAI batch JSONL file, sends each line's body to `chat.completions.create` with at
most CONCURRENCY calls in flight, and writes one JSON line per request (id, status, text or
error, tokens) as the answers arrive. What a careful user writes by hand: no ledger, no
resuming, no rate limiter, the SDK's own retries (two) and nothing else.

    OPENAI_API_KEY=… OPENAI_BASE_URL=… python -m benchmarks.baseline_sync_openai IN OUT CONCURRENCY
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import IO, Any

from openai import APIStatusError, AsyncOpenAI


async def answer(
    client: AsyncOpenAI, gate: asyncio.Semaphore, line: dict[str, Any], out: IO[str]
) -> None:
    body = dict(line["body"])
    async with gate:
        try:
            done = await client.chat.completions.create(
                model=body.pop("model"), messages=body.pop("messages"), extra_body=body
            )
        except APIStatusError as err:
            record = {"id": line["custom_id"], "status": "failed", "error": str(err)}
        else:
            usage = done.usage
            record = {
                "id": line["custom_id"],
                "status": "succeeded",
                "text": done.choices[0].message.content,
                "input_tokens": usage.prompt_tokens if usage else None,
                "output_tokens": usage.completion_tokens if usage else None,
            }
    out.write(json.dumps(record) + "\n")


async def run(source: Path, target: Path, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    async with AsyncOpenAI() as client:
        with source.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8") as out:
            await asyncio.gather(*(answer(client, gate, json.loads(x), out) for x in lines))


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
