"""A pytest plugin: a provider sandbox on a free port, for our tests and for users' own.

Registered as the `pytest11` entry point `batchgraph`, so any project that installs batchgraph
gets the `batchgraph_sandbox` fixture:

    def test_my_pipeline(batchgraph_sandbox):
        client = OpenAI(api_key="sandbox-key", base_url=batchgraph_sandbox.base_url("openai"))
        ...

The server is imported lazily so that loading the plugin costs nothing when the fixture is unused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from batchgraph.sandbox.server import SandboxHandle


@pytest.fixture
def batchgraph_sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    """A sandbox serving all providers at instant speed, with its state in a temporary folder.

    Change its behaviour inside a test with `batchgraph_sandbox.configure(failure_rate=0.3, …)`.
    """
    from batchgraph.sandbox.config import SandboxConfig
    from batchgraph.sandbox.server import run_sandbox

    with run_sandbox(tmp_path / "sandbox", SandboxConfig.instant()) as handle:
        yield handle
