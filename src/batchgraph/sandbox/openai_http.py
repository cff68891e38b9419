"""OpenAI's HTTP conventions shared by the sandbox's Files and Batch routes: the error body,
list pages and query limits."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchgraph.sandbox.context import ErrorKind

NAME = "openai"
FILE_TTL = 30 * 24 * 3600
"""Batch input and output files expire 30 days after creation unless told otherwise."""

_ERROR_TYPES = {
    ErrorKind.INVALID_REQUEST: ("invalid_request_error", None),
    ErrorKind.UNAUTHORIZED: ("invalid_request_error", "invalid_api_key"),
    ErrorKind.NOT_FOUND: ("invalid_request_error", None),
    ErrorKind.RATE_LIMITED: ("requests", "rate_limit_exceeded"),
    ErrorKind.SERVER_ERROR: ("server_error", None),
}


def error_response(
    status: int, kind: ErrorKind, message: str, *, param: str | None = None
) -> Response:
    """OpenAI's `{"error": {message, type, param, code}}` body."""
    kind_name, code = _ERROR_TYPES[kind]
    body = {"error": {"message": message, "type": kind_name, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers={"x-request-id": request_id()})


def request_id() -> str:
    return "req_" + uuid.uuid4().hex


def invalid(message: str, param: str | None = None) -> Response:
    return error_response(400, ErrorKind.INVALID_REQUEST, message, param=param)


def not_found(message: str, param: str) -> Response:
    return error_response(404, ErrorKind.NOT_FOUND, message, param=param)


def query_limit(request: Request, default: int, maximum: int) -> int | None:
    raw = request.query_params.get("limit")
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return None
    return value if 1 <= value <= maximum else None


def list_page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }
