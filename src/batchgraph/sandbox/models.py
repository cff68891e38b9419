"""The models each protocol's sandbox lists (`GET /v1/models`), in that provider's own shape,
and the real sizes of the embedding models' vectors.

Clients ask the list to catch a misspelt model before sending anything; the sandbox lists the
current models of each provider (and a few dated names), so the same check works offline.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CREATED = 1_735_689_600
"""When the listed models say they were created (2025-01-01), so lists are deterministic."""

OPENAI_MODELS = (
    "gpt-4o",
    "gpt-4o-2024-08-06",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4-turbo",
    "gpt-3.5-turbo",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o1",
    "o3",
    "o3-mini",
    "o4-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
)
ANTHROPIC_MODELS = (
    ("claude-opus-4-1", "Claude Opus 4.1"),
    ("claude-opus-4-1-20250805", "Claude Opus 4.1"),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
    ("claude-haiku-4-5", "Claude Haiku 4.5"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5"),
    ("claude-sonnet-4-0", "Claude Sonnet 4"),
    ("claude-3-7-sonnet-latest", "Claude Sonnet 3.7"),
    ("claude-3-5-haiku-latest", "Claude Haiku 3.5"),
)
MISTRAL_MODELS = (
    "mistral-small-latest",
    "mistral-medium-latest",
    "mistral-large-latest",
    "mistral-tiny",
    "ministral-3b-latest",
    "ministral-8b-latest",
    "open-mistral-nemo",
    "codestral-latest",
    "pixtral-large-latest",
    "magistral-small-latest",
    "magistral-medium-latest",
    "mistral-embed",
    "codestral-embed",
)

EMBEDDING_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "mistral-embed": 1024,
    "codestral-embed": 1536,
}
"""Each embedding model's vector size, as the provider documents it."""


def dimensions_of(model: str | None, default: int) -> int:
    """The vector size of `model`, or `default` for a model the sandbox does not know."""
    return EMBEDDING_DIMENSIONS.get(model or "", default)


def openai_list() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": CREATED, "owned_by": "system"}
            for name in OPENAI_MODELS
        ],
    }


def anthropic_list() -> dict[str, Any]:
    data = [
        {
            "type": "model",
            "id": name,
            "display_name": title,
            "created_at": "2025-01-01T00:00:00Z",
        }
        for name, title in ANTHROPIC_MODELS
    ]
    return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}


def mistral_list() -> dict[str, Any]:
    def card(name: str) -> dict[str, Any]:
        embed = name.endswith("embed")
        return {
            "id": name,
            "object": "model",
            "created": CREATED,
            "owned_by": "mistralai",
            "type": "base",
            "capabilities": {
                "completion_chat": not embed,
                "function_calling": not embed,
                "vision": name.startswith(("pixtral", "mistral-medium", "mistral-small")),
                "completion_fim": name.startswith("codestral") and not embed,
                "fine_tuning": False,
                "classification": False,
            },
        }

    return {"object": "list", "data": [card(name) for name in MISTRAL_MODELS]}


def route(listing: dict[str, Any], path: str = "/v1/models") -> Route:
    """`GET <path>` answering with `listing`."""

    async def models(request: Request) -> Response:
        return JSONResponse(listing)

    return Route(path, models, methods=["GET"])
