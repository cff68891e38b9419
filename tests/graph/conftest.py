"""Jobs against a sandbox on a free port, with the store in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.providers import open_provider
from batchgraph.providers.base import Provider
from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import JobRecord

PROVIDERS = ["openai", "anthropic", "mistral"]
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "mistral": "mistral-small-latest",
}


def sandbox_factory(sandbox: SandboxHandle) -> Callable[[JobRecord], Provider]:
    """Adapters for a job's provider, pointed at the test's sandbox."""

    def factory(job: JobRecord) -> Provider:
        name = job.provider.removeprefix("sandbox-")
        return open_provider(name, api_key=SANDBOX_API_KEY, base_url=sandbox.base_url(name))

    return factory


@pytest.fixture
def bg(tmp_path: Path, batchgraph_sandbox: SandboxHandle) -> Iterator[Batchgraph]:
    """A Batchgraph on a fresh SQLite file whose providers all live in the test's sandbox."""
    with Batchgraph.open(
        str(tmp_path / "jobs.db"),
        data_dir=tmp_path / "home",
        provider_factory=sandbox_factory(batchgraph_sandbox),
    ) as instance:
        yield instance


def write_prompts(path: Path, count: int, model: str | None = None) -> Path:
    """A plain JSONL input of `count` short prompts with ids `q0`, `q1`, …"""
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            line: dict[str, object] = {"id": f"q{n}", "prompt": f"Is {n} an even number?"}
            if model:
                line["model"] = model
            handle.write(json.dumps(line) + "\n")
    return path
