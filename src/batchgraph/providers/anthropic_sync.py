"""Anthropic's Messages API called directly, on the `anthropic` SDK's async client, with the
params a Message Batch request carries (`anthropic_wire.message_params`) and the answer read as
a batch's `succeeded` line."""

from __future__ import annotations

from typing import Any

import anthropic

from batchgraph import jsoncodec
from batchgraph.model import ProviderError, Result
from batchgraph.providers import anthropic_wire as wire
from batchgraph.providers.base import WireItem
from batchgraph.providers.settings import ProviderSettings
from batchgraph.providers.sync_api import (
    CALL_TIMEOUT,
    SYNC_BATCH_ID,
    CallFailure,
    SyncClient,
    is_retryable_status,
    refused,
    retry_after_seconds,
)


class AnthropicSyncClient(SyncClient):
    """One `messages.create` per request on `AsyncAnthropic`, with the SDK's retries off."""

    def __init__(self, settings: ProviderSettings, *, timeout: float = CALL_TIMEOUT) -> None:
        self.provider = settings.provider
        self._client = anthropic.AsyncAnthropic(
            api_key=settings.api_key, base_url=settings.base_url, max_retries=0, timeout=timeout
        )

    async def call(self, item: WireItem) -> Result:
        params = wire.message_params(item.request)
        required = {key: params.pop(key) for key in ("model", "max_tokens", "messages")}
        try:
            # The rest goes as it is: the SDK's signature lags the API (and the batch
            # path sends the same params untyped).
            raw = await self._client.messages.with_raw_response.create(
                **required, extra_body=params
            )
        except anthropic.APIStatusError as err:
            error = wire.error_of(err.body)
            if is_retryable_status(err.status_code) or error.retryable:
                retry_after = retry_after_seconds(err.response.headers)
                raise CallFailure(error, err.status_code, retry_after) from err
            return refused(item.custom_id, error)
        except (anthropic.APIConnectionError, anthropic.APITimeoutError) as err:
            error = ProviderError("connection_error", str(err), retryable=True)
            raise CallFailure(error, None) from err
        message: dict[str, Any] = jsoncodec.loads(await raw.read())
        line = {"custom_id": item.custom_id, "result": {"type": "succeeded", "message": message}}
        return wire.parse_result_line(line, SYNC_BATCH_ID)

    async def aclose(self) -> None:
        await self._client.close()
