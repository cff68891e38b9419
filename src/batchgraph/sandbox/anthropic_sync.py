"""Anthropic's synchronous `POST /v1/messages`, answering what the same request in a Message
Batch answers (`anthropic_results.answer_params`), at the standard service tier; and
`POST /v1/messages/count_tokens`, counting a request's input as its batch result reports it."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox.anthropic_results import answer_params
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.sync_api import Refuser, answering, json_object
from batchgraph.sandbox.tokens import anthropic_tokens

NAME = "anthropic"


def routes(ctx: SandboxContext, refuse: Refuser) -> list[BaseRoute]:
    """`refuse` renders a 400 `invalid_request_error` in Anthropic's shape."""

    def answer(body: dict[str, Any], request: Request) -> Response:
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                return refuse(f"{key}: Field required")
        if not isinstance(body["messages"], list):
            return refuse("messages: Input should be a valid list")
        result = answer_params(body, secrets.token_hex(12), ctx.config.seed)
        if result["type"] != "succeeded":
            error = result["error"]["error"]
            return refuse(str(error.get("message")))
        message = result["message"]
        message["usage"]["service_tier"] = "standard"
        return JSONResponse(message, headers={"request-id": "req_" + secrets.token_hex(12)})

    async def count(request: Request) -> Response:
        """Free and answered at once, as Anthropic's is; not a paid call, so not logged."""
        body = await json_object(request)
        if body is None:
            return refuse("The request body must be a JSON object.")
        for key in ("model", "messages"):
            if key not in body:
                return refuse(f"{key}: Field required")
        if not isinstance(body["messages"], list) or not body["messages"]:
            return refuse("messages: List should have at least 1 item after validation")
        return JSONResponse({"input_tokens": anthropic_tokens(body)})

    return [
        Route("/v1/messages", answering(ctx, NAME, answer, refuse), methods=["POST"]),
        Route("/v1/messages/count_tokens", count, methods=["POST"]),
    ]
