"""Hosts that speak OpenAI's chat API but have no Batch API: OpenRouter, and the user's own
OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp). Their jobs always run through
the synchronous executor (the registry marks them `Features(batch=False)`), so the batch half of
the adapter is never reached; creating a batch is refused with the reason.

OpenRouter's limits on `:free` models (so many requests per minute, so many per day) set the
default pace, and its daily quota (or an empty balance) stops the run with a message saying how
to resume, instead of being retried until the next day.

An own server may not follow JSON schemas (`response_format` of type `json_schema`): older vLLM
refuses it with a 400, older llama.cpp with a 500, each in its own words, and early Ollama
answered in plain text as if no schema had been asked. The first request asking for a schema
is therefore sent alone; if the server refuses the schema, or its complete answer is not JSON,
the run stops with one message (`FeatureUnsupported`) instead of spending every request on the
same refusal, and the job stays resumable.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import openai

from batchgraph.errors import ConfigError, FeatureUnsupported, QuotaExhausted
from batchgraph.model import Outcome, Result
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
    probe_what: ClassVar[str] = "list models"

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


class OwnServerProvider(SyncOnlyHost):
    """The user's own OpenAI-compatible server, at the address the job was given."""

    def sync_client(self) -> SyncClient:
        return OwnServerSyncClient(
            self.settings.provider,
            self.make_async_client(self.settings),
            self.settings.base_url or "",
        )


SCHEMA_MARKERS = ("response_format", "json_schema", "guided", "grammar")
"""Words in a refusal that show it is the schema the server refuses, not the request."""


class OwnServerSyncClient(OpenAISyncClient):
    """Sends the first request that asks for a JSON schema alone, and stops the run if the
    server refuses schemas; the others wait for its answer, then go as usual."""

    def __init__(self, provider: str, client: openai.AsyncOpenAI, base_url: str) -> None:
        super().__init__(provider, client)
        self.base_url = base_url
        self._schema_works = False
        self._refusal: FeatureUnsupported | None = None
        self._first: asyncio.Lock | None = None

    async def call(self, item: WireItem) -> Result:
        if self._schema_works or item.request.output_schema is None:
            return await super().call(item)
        if self._first is None:
            self._first = asyncio.Lock()
        async with self._first:
            if self._refusal is not None:
                raise self._refusal
            if self._schema_works:
                return await super().call(item)
            result = await super().call(item)  # a refused schema raises here, and is remembered
            if _schema_ignored(result):
                self._refusal = self._unsupported(
                    f"it answered the first request asking for one with text that is not JSON "
                    f"({(result.text or '')[:60]!r}…): it ignores response_format"
                )
                raise self._refusal
            self._schema_works = True
            return result

    def failed(self, item: WireItem, err: openai.APIStatusError) -> Result:
        body = err.body if isinstance(err.body, dict) else {}
        words = str(body.get("message") or err.message)
        if item.request.output_schema is not None and self._about_schema(words):
            self._refusal = self._unsupported(f"HTTP {err.status_code}: {words}")
            raise self._refusal from err
        return super().failed(item, err)

    def _unsupported(self, evidence: str) -> FeatureUnsupported:
        return FeatureUnsupported(
            self.provider,
            f"the server at {self.base_url} cannot follow a JSON schema ({evidence}). Nothing "
            "more was sent; the job is kept. Either serve the model with an engine that takes "
            "response_format json_schema (a recent vLLM, llama.cpp or Ollama) and resume with "
            "`batchgraph run --job JOB`, or submit the input again without --json-schema (and "
            "without response_format on its lines), asking for JSON in the prompt instead",
        )

    @staticmethod
    def _about_schema(message: str) -> bool:
        lowered = message.lower()
        return any(marker in lowered for marker in SCHEMA_MARKERS)


def _schema_ignored(result: Result) -> bool:
    """A complete answer (not cut off by its token limit) to a request asking for a schema that
    is not JSON: the server dropped the schema without a word."""
    return (
        result.outcome is Outcome.SUCCEEDED
        and result.stop_reason == "stop"
        and result.parsed is None
    )


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
