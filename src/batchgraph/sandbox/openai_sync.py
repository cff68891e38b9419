"""OpenAI's synchronous endpoints, `POST /v1/chat/completions` and `/v1/embeddings`, answering
exactly what the same line of a batch answers (`openai_output.RESPONDERS`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.openai_http import invalid, request_id
from batchgraph.sandbox.openai_output import RESPONDERS, BadRequest, Tally
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.sync_api import Answerer, answering

SYNC_PATHS = ("/v1/chat/completions", "/v1/embeddings")

Invalid = Callable[[str, str | None], Response]


def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
    """The synchronous endpoints under the personality's API root (`/v1` for OpenAI)."""
    refuse = invalid
    return [
        Route(
            personality.api_root + path.removeprefix("/v1"),
            answering(
                ctx, personality.name, body_answerer(ctx, path, refuse), lambda m: refuse(m, None)
            ),
            methods=["POST"],
        )
        for path in SYNC_PATHS
    ]


def body_answerer(
    ctx: SandboxContext,
    path: str,
    refuse: Invalid,
    touch: Callable[[dict[str, Any]], None] | None = None,
) -> Answerer:
    """Answers one body for `path`; refusals are rendered by `refuse(message, param)` and
    `touch` may change the answer, so OpenAI-compatible personalities (OpenRouter) reuse it
    with their own error shape and fields."""
    respond = RESPONDERS[path]

    def answer(body: dict[str, Any], request: Request) -> Response:
        if not isinstance(body.get("model"), str) or not body["model"]:
            return refuse("you must provide a model parameter", "model")
        rid = request_id()
        try:
            payload = respond(body, int(ctx.now()), rid, ctx.config.seed, Tally())
        except BadRequest as err:
            return refuse(str(err), err.param)
        if touch is not None:
            touch(payload)
        return JSONResponse(payload, headers={"x-request-id": rid})

    return answer
