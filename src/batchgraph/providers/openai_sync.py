"""Chat completions and embeddings called directly, on the `openai` SDK's async client: OpenAI
itself, and every host that speaks its API (OpenRouter, local OpenAI-compatible servers).

The body is the one a batch line carries (`openai_wire.request_body`), so a request is the same
request by batch or not; the answer is read by the same function as a batch's output line.
"""

from __future__ import annotations

from typing import Any

import openai

from batchgraph import jsoncodec
from batchgraph.model import Kind, ProviderError, Result
from batchgraph.providers import openai_wire as wire
from batchgraph.providers.base import WireItem
from batchgraph.providers.sync_api import (
    SYNC_BATCH_ID,
    CallFailure,
    SyncClient,
    is_retryable_status,
    refused,
    retry_after_seconds,
)


class OpenAISyncClient(SyncClient):
    """One call per request on `AsyncOpenAI`, with the SDK's retries off."""

    def __init__(self, provider: str, client: openai.AsyncOpenAI) -> None:
        self.provider = provider
        self._client = client

    async def call(self, item: WireItem) -> Result:
        request = item.request
        body = self.body(item)
        model = body.pop("model")
        try:
            # Everything but the required fields goes as it is (`extra_body`): the body is
            # the batch line's, which the SDK's signature need not know field by field.
            if request.kind is Kind.EMBEDDING:
                content = (
                    await self._client.embeddings.with_raw_response.create(
                        model=model, input=body.pop("input"), extra_body=body
                    )
                ).content
            else:
                content = (
                    await self._client.chat.completions.with_raw_response.create(
                        model=model, messages=body.pop("messages"), extra_body=body
                    )
                ).content
        except openai.APIStatusError as err:
            return self.failed(item, err)
        except (openai.APIConnectionError, openai.APITimeoutError) as err:
            error = ProviderError("connection_error", str(err), retryable=True)
            raise CallFailure(error, None) from err
        answer: dict[str, Any] = jsoncodec.loads(content)
        wants_json = request.output_schema is not None
        return wire.response_result(item.custom_id, SYNC_BATCH_ID, answer, wants_json)

    def body(self, item: WireItem) -> dict[str, Any]:
        """The request body; hosts with other needs change it here."""
        return wire.request_body(item.request)

    def failed(self, item: WireItem, err: openai.APIStatusError) -> Result:
        """A refused call: raise `CallFailure` when another try may succeed, else the
        request's failed `Result`. Hosts with quotas raise `QuotaExhausted` here."""
        body = err.body if isinstance(err.body, dict) else {}
        error = wire.http_error(err.status_code, {"error": body} if body else {}, err.body)
        if is_retryable_status(err.status_code):
            retry_after = retry_after_seconds(err.response.headers)
            raise CallFailure(error, err.status_code, retry_after) from err
        return refused(item.custom_id, error)

    async def aclose(self) -> None:
        await self._client.close()
