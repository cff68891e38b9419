"""Shared code for the provider tests: adapters pointed at a sandbox, and waiting for batches."""

from __future__ import annotations

import importlib
import time
from types import ModuleType

from tests.patience import HANG_S

from batchgraph.model import Request
from batchgraph.providers import open_provider, sandbox_base_url
from batchgraph.providers.base import BatchStatus, Caps, Provider
from batchgraph.providers.registry import SPECS, spec_for
from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle

PROVIDERS = tuple(spec.name for spec in SPECS if spec.features.batch)
"""Every provider in the registry: a new entry is tested by adding it."""
MODELS = {spec.name: spec.example_model for spec in SPECS}


class FakeClock:
    """Real time stands still for the sandbox; the test moves it."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def adapter_module(name: str) -> ModuleType:
    """The provider's adapter module, imported. An adapter that fails to import (a broken SDK
    upgrade, a module gone) fails the tests that need it: it is never a reason to skip them."""
    return importlib.import_module(spec_for(name).adapter.partition(":")[0])


def provider_on(sandbox: SandboxHandle, name: str, caps: Caps | None = None) -> Provider:
    """The real adapter for `name`, talking to the sandbox; `caps` shrinks its batch caps."""
    provider = open_provider(
        name, api_key=SANDBOX_API_KEY, base_url=sandbox_base_url(name, sandbox.url)
    )
    if caps is not None:
        small = type(f"Small{type(provider).__name__}", (type(provider),), {"caps": caps})
        provider = small(provider.settings)
    return provider


def wait_done(provider: Provider, batch_id: str, timeout: float = HANG_S) -> BatchStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = provider.status(batch_id)
        if status.done or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def chat(request_id: str, text: str = "What is 2+2?", model: str = "gpt-4o-mini") -> Request:
    return Request(
        id=request_id,
        line=1,
        model=model,
        messages=({"role": "user", "content": text},),
        max_tokens=100,
    )
