"""The synchronous endpoints every provider module serves beside its Batch API.

A provider module gives `answering` a function that turns one request body into a response,
with the same synthetic answers its batches give (`responder`); this module reads the body,
logs the call in `ctx.sync_log` and renders refusals. Latency and injected 429/5xx faults are
applied in front of every route by `faults.FaultMiddleware`, as for batch calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.sync_log import SyncCall

Answerer = Callable[[dict[str, Any], Request], Response]
"""Answers one parsed JSON body (a dict) with the provider's response or error."""
Refuser = Callable[[str], Response]
"""The provider's 400 for a body that is not a JSON object."""
Handler = Callable[[Request], Awaitable[Response]]


def answering(ctx: SandboxContext, provider: str, answer: Answerer, refuse: Refuser) -> Handler:
    """A route handler: parse the body, answer it, log the call."""

    async def handler(request: Request) -> Response:
        body = await json_object(request)
        if body is None:
            response = refuse("The request body must be a JSON object.")
            model = None
        else:
            model = body.get("model") if isinstance(body.get("model"), str) else None
            response = answer(body, request)
        ctx.sync_log.record(
            SyncCall(ctx.now(), provider, request.url.path, model, response.status_code)
        )
        return response

    return handler


async def json_object(request: Request) -> dict[str, Any] | None:
    """The request's body when it is a JSON object, else None."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def json_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, headers=headers)
