"""Azure OpenAI's Batch API: OpenAI's protocol through the SDK's `AzureOpenAI` client.

What differs from OpenAI, and nothing else: the client (the resource's endpoint and an API
version; it sends the key in an `api-key` header and puts `/openai` and `?api-version=` in every
URL), and batch endpoints and input-line urls without `/v1` (`/chat/completions`). A request's
model is the name of a global-batch deployment, which Azure routes to its model.
"""

from __future__ import annotations

from typing import ClassVar

import openai

from batchgraph.errors import ConfigError
from batchgraph.providers.openai import READ_RETRIES, OpenAIProvider
from batchgraph.providers.settings import ProviderSettings
from batchgraph.providers.sync_api import CALL_TIMEOUT


class AzureOpenAIProvider(OpenAIProvider):
    """Azure OpenAI batch deployments."""

    url_root: ClassVar[str] = ""

    @classmethod
    def make_async_client(cls, settings: ProviderSettings) -> openai.AsyncOpenAI:
        return openai.AsyncAzureOpenAI(
            api_key=settings.api_key,
            azure_endpoint=cls._endpoint(settings),
            api_version=settings.options["api_version"],
            max_retries=0,
            timeout=CALL_TIMEOUT,
        )

    @classmethod
    def _endpoint(cls, settings: ProviderSettings) -> str:
        if not settings.base_url:
            raise ConfigError(
                f"no endpoint for {cls.spec.name}: set {cls.spec.base_url_env} to the "
                "resource's endpoint (https://<resource>.openai.azure.com)"
            )
        return settings.base_url

    @classmethod
    def make_client(cls, settings: ProviderSettings) -> openai.OpenAI:
        return openai.AzureOpenAI(
            api_key=settings.api_key,
            azure_endpoint=cls._endpoint(settings),
            api_version=settings.options["api_version"],
            max_retries=READ_RETRIES,
        )
