"""Mistral's chat completions and embeddings called directly, on the `mistralai` SDK's async
methods, with the body a batch line carries (`mistral_wire.request_body`) and the answer read
as a batch's output line."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from mistralai.client import Mistral
from mistralai.client.errors import MistralError, NoResponseError

from batchgraph.model import Kind, ProviderError, Result
from batchgraph.providers import mistral_wire as wire
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


class MistralSyncClient(SyncClient):
    """One call per request on the SDK's async methods, with its retries off."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.provider = settings.provider
        self._client = Mistral(
            api_key=settings.api_key,
            server_url=settings.base_url,
            timeout_ms=int(CALL_TIMEOUT * 1000),
        )

    async def call(self, item: WireItem) -> Result:
        request = item.request
        body: dict[str, Any] = wire.request_body(request)
        embeddings = request.kind is Kind.EMBEDDING
        try:
            if embeddings:
                answer: Any = await self._client.embeddings.create_async(
                    model=request.model, inputs=body["input"]
                )
            else:
                answer = await self._client.chat.complete_async(model=request.model, **body)
        except MistralError as err:
            error = wire.provider_error(err.status_code, _json(err.body), None, err.body)
            if is_retryable_status(err.status_code):
                retry_after = retry_after_seconds(err.headers)
                raise CallFailure(error, err.status_code, retry_after) from err
            return refused(item.custom_id, error)
        except (httpx2.HTTPError, NoResponseError) as err:
            error = ProviderError("connection_error", repr(err), retryable=True)
            raise CallFailure(error, None) from err
        payload = answer.model_dump(mode="json", by_alias=True)
        wants_json = request.output_schema is not None
        return wire.response_result(item.custom_id, SYNC_BATCH_ID, payload, embeddings, wants_json)

    async def aclose(self) -> None:
        await self._client.__aexit__(None, None, None)  # type: ignore[no-untyped-call]


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
