"""Provider tests run each adapter against the sandbox (the `batchgraph_sandbox` fixture)."""

from __future__ import annotations

import pytest
from provider_helpers import FakeClock

from batchgraph.sandbox import SandboxHandle


@pytest.fixture
def clock(batchgraph_sandbox: SandboxHandle) -> FakeClock:
    """Stop the sandbox's clock; batches then take 100 virtual seconds, moved by the test."""
    fake = FakeClock(1_800_000_000.0)
    batchgraph_sandbox.ctx.now = fake
    batchgraph_sandbox.configure(processing_seconds=100.0, time_scale=1.0)
    return fake
