"""Mistral's synchronous `POST /v1/chat/completions` and `/v1/embeddings`: the same checks and
the same answers as a line of a batch job (`mistral_lines`)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.mistral_errors import invalid, refused
from batchgraph.sandbox.mistral_lines import (
    SERVED_ENDPOINTS,
    LineContext,
    body_problem,
    success_body,
)
from batchgraph.sandbox.sync_api import Answerer, answering

NAME = "mistral"


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    return [
        Route(
            path,
            answering(ctx, NAME, _answerer(ctx, path), lambda m: refused(m).response()),
            methods=["POST"],
        )
        for path in SERVED_ENDPOINTS
    ]


def _answerer(ctx: SandboxContext, path: str) -> Answerer:
    def answer(body: dict[str, Any], request: Request) -> Response:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return invalid(["model"], "Field required", "missing", body).response()
        problem = body_problem(path, body)
        if problem is not None:
            return JSONResponse(problem.body, status_code=problem.status)
        line = LineContext(
            job_id=str(uuid.uuid4()),
            endpoint=path,
            model=model,
            created=int(ctx.now()),
            seed=ctx.config.seed,
        )
        return JSONResponse(success_body(line, 1, body))

    return answer
