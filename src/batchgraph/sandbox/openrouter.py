"""An OpenRouter personality (`/openrouter/api/v1/chat/completions`): OpenAI's chat completion
shape, OpenRouter's error body `{"error": {"code", "message", "metadata"}}`, and its limits on
`:free` models — so many calls per minute and per day (`openrouter_per_minute`,
`openrouter_per_day`; the length of a "minute" and a "day" is configurable so tests can scale
them). A refused call is answered 429 with `X-RateLimit-*` headers, `Retry-After` for the
per-minute limit, and OpenRouter's own messages (`free-models-per-min`, `free-models-per-day`).

OpenRouter has no Batch API; only the synchronous endpoints exist here.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox.context import ErrorKind, SandboxContext
from batchgraph.sandbox.openai_sync import body_answerer
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.sync_api import answering
from batchgraph.sandbox.sync_log import window_end

NAME = "openrouter"
CHAT = "/v1/chat/completions"
PER_MINUTE_MESSAGE = "Rate limit exceeded: free-models-per-min. "
PER_DAY_MESSAGE = (
    "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model "
    "requests per day"
)


def error_response(
    status: int, kind: ErrorKind, message: str, *, param: str | None = None
) -> Response:
    """OpenRouter's `{"error": {"code": <status>, "message", "metadata"}}` body."""
    return _error(status, message, {"provider_name": None})


def _error(
    status: int, message: str, metadata: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    body = {
        "error": {"code": status, "message": message, "metadata": metadata},
        "user_id": "user_sandbox",
    }
    return JSONResponse(body, status_code=status, headers=headers)


def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
    """OpenRouter's synchronous chat endpoint (it has no Batch API)."""
    answer = body_answerer(ctx, CHAT, lambda message, _param: _refuse(message), _touch)

    def limited_answer(body: dict[str, Any], request: Request) -> Response:
        model = body.get("model")
        if isinstance(model, str) and model.endswith(":free"):
            refusal = _over_limit(ctx)
            if refusal is not None:
                return refusal
        return answer(body, request)

    async def models(request: Request) -> Response:
        return JSONResponse({"data": MODELS})

    return [
        Route(CHAT, answering(ctx, NAME, limited_answer, _refuse), methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]


def _model(model_id: str, prompt: str, completion: str) -> dict[str, Any]:
    """One entry of OpenRouter's model list: prices are strings of dollars per token."""
    return {
        "id": model_id,
        "name": model_id,
        "context_length": 131072,
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0"},
    }


MODELS = [
    _model("meta-llama/llama-3.3-70b-instruct:free", "0", "0"),
    _model("meta-llama/llama-3.3-70b-instruct", "0.00000013", "0.0000004"),
    _model("mistralai/mistral-small-3.1-24b-instruct:free", "0", "0"),
]
"""A few models in OpenRouter's list format (`GET /api/v1/models`)."""


def _refuse(message: str) -> Response:
    return _error(400, message, {})


def _over_limit(ctx: SandboxContext) -> Response | None:
    """The 429 for a call to a `:free` model over a limit, or None when it may run."""
    config, now, log = ctx.config, ctx.now(), ctx.sync_log
    checks = (
        (config.openrouter_per_day, config.openrouter_day, PER_DAY_MESSAGE),
        (config.openrouter_per_minute, config.openrouter_minute, PER_MINUTE_MESSAGE),
    )
    for limit, window, message in checks:
        if limit <= 0 or log.answered_in_window(NAME, now, window, free=True) < limit:
            continue
        reset = window_end(now, window)
        limit_headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset * 1000)),
        }
        headers = dict(limit_headers)
        if message is PER_MINUTE_MESSAGE:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
        return _error(429, message, {"headers": limit_headers, "provider_name": None}, headers)
    return None


def _touch(payload: dict[str, Any]) -> None:
    """OpenAI's completion with OpenRouter's touches: a `gen-` id and the serving provider."""
    payload["id"] = "gen-" + secrets.token_hex(12)
    payload["provider"] = "Sandbox"
