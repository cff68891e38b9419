"""Checks and faults in front of every provider route, answered in that provider's error shape:
a missing key (401, unless the link is signed: `signing`), rate limits (429 with Retry-After),
transient 5xx blips, refusals aimed at one kind of call, and latency.

Faults are deterministic for a given sequence of calls. Rate limits and blips never hit two calls
in a row, so an SDK's own retries always get through; aimed refusals (`refuse_calls`) hit every
matching call until `refuse_count` of them were refused, to outlast those retries.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batchgraph.sandbox.call_log import ProviderCall
from batchgraph.sandbox.context import ErrorKind, ProviderModule, SandboxContext
from batchgraph.sandbox.fate import unit
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.signing import is_signed
from batchgraph.sandbox.sync_log import SYNC_PATHS, SyncCall


@dataclass(frozen=True, slots=True)
class Served:
    """A personality and the protocol module that serves it."""

    personality: Personality
    module: ProviderModule


class FaultMiddleware:
    """Pure ASGI middleware (so streamed downloads stay streamed)."""

    def __init__(self, app: ASGIApp, ctx: SandboxContext, providers: Mapping[str, Served]) -> None:
        self.app = app
        self.ctx = ctx
        self.providers = providers
        self._lock = threading.Lock()
        self._calls = 0
        self._last_faulted = False
        self._refused = 0
        self._refusing: tuple[str, int, int] | None = None
        """The refusal settings `_refused` counts for; new settings start a new count."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        served = self._provider_of(scope) if scope["type"] == "http" else None
        if served is None:
            await self.app(scope, receive, send)
            return
        module = served.module
        self.ctx.call_log.record(
            ProviderCall(self.ctx.now(), served.personality.name, scope["method"], scope["path"])
        )
        response = None
        if not is_signed(scope["path"], scope.get("query_string", b"").decode(), self.ctx.now()):
            response = self._refusal(served, Headers(scope=scope))
        config = self.ctx.config
        if config.latency > 0:
            await asyncio.sleep(config.latency)
        if response is None:
            response = self._refusal_aimed(module, _call_name(scope, served.personality))
        if response is None:
            response = self._fault(module)
        if config.reply_latency > 0:
            send = _held_back(send, config.reply_latency)
        if response is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"].endswith(SYNC_PATHS):
            name = served.personality.name
            self.ctx.sync_log.record(
                SyncCall(self.ctx.now(), name, scope["path"], None, response.status_code)
            )
        await response(scope, receive, send)

    def _provider_of(self, scope: Scope) -> Served | None:
        path: str = scope["path"]
        for served in self.providers.values():
            prefix = served.personality.prefix
            if path == prefix or path.startswith(prefix + "/"):
                return served
        return None

    def _refusal_aimed(self, module: ProviderModule, call: str) -> Response | None:
        """`refuse_status` for a call matching `refuse_calls`, while refusals remain."""
        config = self.ctx.config
        if config.refuse_calls is None or not re.search(config.refuse_calls, call):
            return None
        with self._lock:
            settings = (config.refuse_calls, config.refuse_count, config.refuse_status)
            if settings != self._refusing:
                self._refusing, self._refused = settings, 0
            if self._refused >= config.refuse_count:
                return None
            self._refused += 1
        status = config.refuse_status
        if status == 429:
            return _rate_limited(module, config.rate_limit_retry_after)
        kind = ErrorKind.SERVER_ERROR if status >= 500 else ErrorKind.INVALID_REQUEST
        return module.error_response(status, kind, f"Refused by the sandbox ({call}).")

    @staticmethod
    def _refusal(served: Served, headers: Headers) -> Response | None:
        """401 unless the call carries a non-empty key in one of the personality's key headers
        (a Bearer token, `x-api-key`, Azure's `api-key`, …)."""
        if not served.personality.key_headers:
            return None  # a server started without a key (a local one) takes every call
        for name in served.personality.key_headers:
            if headers.get(name, "").removeprefix("Bearer").strip():
                return None
        where = " or ".join(served.personality.key_headers)
        return served.module.error_response(
            401, ErrorKind.UNAUTHORIZED, f"No API key provided in {where}. Pass any non-empty key."
        )

    def _fault(self, module: ProviderModule) -> Response | None:
        config = self.ctx.config
        with self._lock:
            self._calls += 1
            call = self._calls
            if self._last_faulted:
                self._last_faulted = False
                return None
            every = config.rate_limit_every
            if every > 0 and call % every == 0:
                self._last_faulted = True
                return _rate_limited(module, config.rate_limit_retry_after)
            rate = config.server_error_rate
            if rate > 0 and unit(config.seed, "blip", str(call)) < rate:
                self._last_faulted = True
                return module.error_response(
                    500,
                    ErrorKind.SERVER_ERROR,
                    "The server had an error while processing your request. Sorry about that!",
                )
        return None


def _call_name(scope: Scope, personality: Personality) -> str:
    """`POST /v1/files`: the method and the path under the personality's prefix, its API root
    read as `/v1` (Azure's `/openai/files` and Groq's `/openai/v1/files` too), so one
    `refuse_calls` pattern aims at the same call on every host."""
    path = scope["path"].removeprefix(personality.prefix)
    root = personality.api_root
    if root != "/v1" and path.startswith(root + "/"):
        path = "/v1" + path.removeprefix(root)
    return f"{scope['method']} {path}"


def _held_back(send: Send, delay: float) -> Send:
    """A `send` that waits `delay` seconds before the response starts."""

    async def delayed(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(delay)
        await send(message)

    return delayed


def _rate_limited(module: ProviderModule, retry_after: float) -> Response:
    response = module.error_response(
        429, ErrorKind.RATE_LIMITED, "Rate limit reached for requests. Please try again later."
    )
    response.headers["retry-after"] = str(max(0, math.ceil(retry_after)))
    response.headers["retry-after-ms"] = str(int(retry_after * 1000))
    return response
