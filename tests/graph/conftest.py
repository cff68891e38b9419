"""Jobs against a sandbox on a free port, with the store in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.providers import open_provider, sandbox_base_url
from batchgraph.providers.base import Provider
from batchgraph.providers.registry import SANDBOX_PREFIX, SPECS
from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import JobRecord

PROVIDERS = [spec.name for spec in SPECS if spec.features.batch]
"""Every provider in the registry with a Batch API: a new entry is tested by adding it
(hosts without one are tested in `tests/executors`)."""
MODELS = {spec.name: spec.example_model for spec in SPECS}


def sandbox_factory(sandbox: SandboxHandle) -> Callable[[JobRecord], Provider]:
    """Adapters for a job's provider, pointed at the test's sandbox."""

    def factory(job: JobRecord) -> Provider:
        name = job.provider.removeprefix(SANDBOX_PREFIX)
        base_url = sandbox_base_url(name, sandbox.url)
        return open_provider(name, api_key=SANDBOX_API_KEY, base_url=base_url)

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


class FakeClock:
    """The sandbox's clock, moved by the test: no test waits on real time."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
