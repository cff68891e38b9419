"""Input files for the whole-job benchmarks: short chat requests in OpenAI batch format."""

from __future__ import annotations

import json
from pathlib import Path

PROMPT = "Classify review {n} as positive, negative or mixed: arrived on time, works as described."
MAX_TOKENS = 50


def write_openai_input(path: Path, count: int, model: str) -> int:
    """`count` lines of `{custom_id, method, url, body}`; returns the file's size in bytes."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            body = {
                "model": model,
                "messages": [{"role": "user", "content": PROMPT.format(n=n)}],
                "max_tokens": MAX_TOKENS,
            }
            line = {"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions"}
            out.write(json.dumps({**line, "body": body}) + "\n")
    return path.stat().st_size
