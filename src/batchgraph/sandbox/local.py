"""A local OpenAI-compatible server (`/local/v1`), as vLLM, Ollama, LM Studio and llama.cpp
serve one: chat completions, embeddings and the model list, no Batch API and no key needed.

Servers without structured output refuse `response_format` of type `json_schema`, each in its
own words; `local_json_schema` chooses which refusal the sandbox gives (or none):

- "vllm": 400 with vLLM's top-level error body `{"object": "error", "message", "type":
  "BadRequestError", "param", "code": 400}` and the request validator's complaint, as vLLM
  releases before json_schema support answered;
- "llamacpp": 500 `{"error": {"code": 500, "message": "response_format type must be one of
  \"text\" or \"json_object\", but got: json_schema", "type": "server_error"}}`, as older
  llama.cpp servers answered (a 500, which clients would otherwise retry);
- "ignore": answers as if no schema had been asked, in plain text, as Ollama's OpenAI
  endpoint did before it followed `response_format`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox import models
from batchgraph.sandbox.context import ErrorKind, SandboxContext
from batchgraph.sandbox.openai_http import error_response as openai_error
from batchgraph.sandbox.openai_sync import SYNC_PATHS, body_answerer
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.sync_api import answering

NAME = "local"
MODELS = ("llama3.1:8b", "qwen2.5:7b-instruct", "nomic-embed-text")
"""What the sandbox's local server says it has loaded (any model name is answered)."""

VLLM_MESSAGE = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input "
    "should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': "
    "\"'text' or 'json_object'\"}}]"
)
LLAMACPP_MESSAGE = (
    'response_format type must be one of "text" or "json_object", but got: json_schema'
)


def error_response(
    status: int, kind: ErrorKind, message: str, *, param: str | None = None
) -> Response:
    """OpenAI's error body, which the local servers copy."""
    return openai_error(status, kind, message, param=param)


def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
    def refuse(message: str, param: str | None) -> Response:
        return error_response(400, ErrorKind.INVALID_REQUEST, message, param=param)

    def handler(path: str) -> Any:
        answer = body_answerer(ctx, path, refuse)

        def schema_aware(body: dict[str, Any], request: Request) -> Response:
            flavour = ctx.config.local_json_schema
            if flavour == "ignore":
                body = {key: value for key, value in body.items() if key != "response_format"}
            refusal = _schema_refusal(flavour, body)
            return refusal if refusal is not None else answer(body, request)

        return answering(ctx, NAME, schema_aware, lambda message: refuse(message, None))

    listing = {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": models.CREATED, "owned_by": "local"}
            for name in MODELS
        ],
    }
    return [
        *(Route(path, handler(path), methods=["POST"]) for path in SYNC_PATHS),
        models.route(listing),
    ]


def _schema_refusal(flavour: str, body: dict[str, Any]) -> Response | None:
    """The refusal of a server without structured output, for a body asking for a schema."""
    wanted = body.get("response_format")
    if not isinstance(wanted, dict) or wanted.get("type") != "json_schema":
        return None
    if flavour == "vllm":
        error = {
            "object": "error",
            "message": VLLM_MESSAGE,
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
        return JSONResponse(error, status_code=400)
    if flavour == "llamacpp":
        error = {"code": 500, "message": LLAMACPP_MESSAGE, "type": "server_error"}
        return JSONResponse({"error": error}, status_code=500)
    return None
