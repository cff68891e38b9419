"""Mistral's error bodies, and the exception the sandbox's Mistral routes raise to send one.

Two shapes are seen from the live API: the application's envelope
`{"object": "error", "message": …, "type": …, "param": null, "code": null}`, whose `message` is
FastAPI's `{"detail": [{type, loc, msg, input}]}` for validation errors, and the gateway's
`{"message": …, "request_id": …}` for a missing key or a rate limit. The SDK reads neither (it
raises `SDKError` with the raw text), so these are for people reading the body.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import JSONResponse

GATEWAY_STATUSES = (401, 429)


class MistralRefusal(Exception):
    """Answer this call with `status` and Mistral's error `body`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status)


def envelope(
    message: Any, kind: str = "invalid_request_error", code: str | None = None
) -> dict[str, Any]:
    return {"object": "error", "message": message, "type": kind, "param": None, "code": code}


def error_body(status: int, message: str, kind: str) -> dict[str, Any]:
    """The body for an error of `status`: the gateway's for 401/429, else the envelope."""
    if status in GATEWAY_STATUSES:
        return {"message": message, "request_id": uuid.uuid4().hex}
    return envelope(message, kind)


def invalid(loc: list[str | int], msg: str, kind: str, value: Any = None) -> MistralRefusal:
    """A 422 validation error for one field, as FastAPI words it."""
    detail = {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}
    return MistralRefusal(422, envelope({"detail": [detail]}))


def invalid_query(name: str, msg: str, kind: str, value: Any = None) -> MistralRefusal:
    detail = {"type": kind, "loc": ["query", name], "msg": msg, "input": value}
    return MistralRefusal(422, envelope({"detail": [detail]}))


def refused(message: str, status: int = 400, kind: str = "invalid_request_error") -> MistralRefusal:
    return MistralRefusal(status, envelope(message, kind))


def not_found(what: str, ident: str) -> MistralRefusal:
    return MistralRefusal(404, envelope(f"{what} {ident} not found", "not_found_error"))
