"""Gemini's HTTP conventions shared by the sandbox's Files and Batch routes: the error body
(Google's `{"error": {code, message, status}}`), timestamps and page tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchgraph.sandbox.context import ErrorKind

NAME = "gemini"
API_VERSION = "v1beta"
FILE_TTL = 48 * 3600
"""Uploaded files are deleted 48 hours after their creation."""

_STATUSES = {
    ErrorKind.INVALID_REQUEST: "INVALID_ARGUMENT",
    ErrorKind.UNAUTHORIZED: "UNAUTHENTICATED",
    ErrorKind.NOT_FOUND: "NOT_FOUND",
    ErrorKind.RATE_LIMITED: "RESOURCE_EXHAUSTED",
    ErrorKind.SERVER_ERROR: "INTERNAL",
}


def error_response(
    status: int, kind: ErrorKind, message: str, *, param: str | None = None
) -> Response:
    """Google's error envelope; `param` is named in the message, as Google's errors do."""
    text = f"{message} (field: {param})" if param else message
    body = {"error": {"code": status, "message": text, "status": _STATUSES[kind]}}
    return JSONResponse(body, status_code=status)


def invalid(message: str, param: str | None = None) -> Response:
    return error_response(400, ErrorKind.INVALID_REQUEST, message, param=param)


def not_found(message: str) -> Response:
    return error_response(404, ErrorKind.NOT_FOUND, message)


def failed_precondition(message: str) -> Response:
    body = {"error": {"code": 400, "message": message, "status": "FAILED_PRECONDITION"}}
    return JSONResponse(body, status_code=400)


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC, as Google's APIs write times."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page_size(request: Request, default: int, maximum: int) -> int | None:
    """`pageSize` from the query: unset or 0 means the default; over the maximum is capped."""
    raw = request.query_params.get("pageSize") or request.query_params.get("page_size")
    try:
        value = int(raw) if raw else 0
    except ValueError:
        return None
    if value < 0:
        return None
    return min(value or default, maximum)


def page_token(request: Request) -> str | None:
    return request.query_params.get("pageToken") or request.query_params.get("page_token")


def camel(body: dict[str, Any], name: str) -> Any:
    """A field by its lowerCamel name or its snake_case one: Google's JSON parsers take both
    (and the SDK sends some fields one way, some the other)."""
    if name in body:
        return body[name]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return body.get(snake)
