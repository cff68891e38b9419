"""Hosts that speak OpenAI's chat API but have no Batch API: OpenRouter, and local
OpenAI-compatible servers (vLLM, Ollama, LM Studio, llama.cpp). Their jobs always run through
the synchronous executor (the registry marks them `Features(batch=False)`), so the batch half of
the adapter is never reached; creating a batch is refused with the reason.

OpenRouter's limits on `:free` models (so many requests per minute, so many per day) set the
default pace, and its daily quota (or an empty balance) stops the run with a message saying how
to resume, instead of being retried until the next day.
"""

from __future__ import annotations

from typing import ClassVar

import openai

from batchgraph.errors import ConfigError, QuotaExhausted
from batchgraph.model import Result
from batchgraph.providers.base import PreparedBatch, WireItem
from batchgraph.providers.openai import OpenAIProvider
from batchgraph.providers.openai_sync import OpenAISyncClient
from batchgraph.providers.sync_api import HostPace, SyncClient

FREE_SUFFIX = ":free"
FREE_PACE = HostPace(concurrency=4, requests_per_minute=20)
"""OpenRouter's published limit for `:free` models: 20 requests per minute."""
PAID_PACE = HostPace(concurrency=16)
QUOTA_MARKERS = ("per-day", "per day", "credits")


class SyncOnlyHost(OpenAIProvider):
    """An OpenAI-protocol host without a Batch API."""

    local: ClassVar[bool] = True

    def probe(self) -> None:
        self._client.models.list()

    def list_models(self) -> list[str] | None:
        return None  # local servers serve whatever they loaded; nothing to check names against

    def create_prepared(self, prepared: PreparedBatch) -> str:
        raise ConfigError(
            f"{self.spec.title} has no Batch API; its jobs run synchronously (this is a bug if "
            "you see it: the job should have been planned in sync mode)"
        )

    def sync_pace(self, model: str) -> HostPace:
        return PAID_PACE


class OpenRouterProvider(SyncOnlyHost):
    """OpenRouter: free models at 20 requests per minute and a daily quota."""

    def sync_pace(self, model: str) -> HostPace:
        return FREE_PACE if model.endswith(FREE_SUFFIX) else PAID_PACE

    def sync_client(self) -> SyncClient:
        return OpenRouterSyncClient(self.settings.provider, self.make_async_client(self.settings))


class OpenRouterSyncClient(OpenAISyncClient):
    """Tells OpenRouter's daily quota and empty balance from a passing rate limit."""

    def failed(self, item: WireItem, err: openai.APIStatusError) -> Result:
        body = err.body if isinstance(err.body, dict) else {}
        message = str(body.get("message") or err.message)
        lowered = message.lower()
        if err.status_code == 402 or (
            err.status_code == 429 and any(m in lowered for m in QUOTA_MARKERS)
        ):
            what = (
                "free-model daily quota reached"
                if "free-models-per-day" in lowered
                else f"quota reached ({message})"
            )
            raise QuotaExhausted(
                self.provider,
                f"{what}: resume tomorrow with `batchgraph run --job JOB`, or add credits "
                f"(OpenRouter said: {message})",
            ) from err
        return super().failed(item, err)
