"""Fixtures for the sandbox tests: an OpenAI client on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle


@pytest.fixture
def openai_client(batchgraph_sandbox: SandboxHandle) -> Iterator[OpenAI]:
    client = OpenAI(api_key=SANDBOX_API_KEY, base_url=batchgraph_sandbox.base_url("openai"))
    yield client
    client.close()
