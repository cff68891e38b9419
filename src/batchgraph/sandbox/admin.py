"""Sandbox-only endpoints under `/_sandbox/` (no key needed):

GET  /_sandbox/health               {"ok": true}
GET  /_sandbox/config               the server-wide config
POST /_sandbox/config               change it: JSON {"failure_rate": 0.3, …};
                                    `?persist=true` also saves it in the data directory
GET  /_sandbox/creations?provider=  the creations log, oldest first
GET  /_sandbox/calls?provider=      the synchronous calls answered, oldest first
GET  /_sandbox/provider-calls?provider=  every call to a provider's routes, oldest first
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from batchgraph.sandbox.context import SandboxContext


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def get_config(request: Request) -> JSONResponse:
        return JSONResponse(ctx.config.to_json())

    async def set_config(request: Request) -> JSONResponse:
        changes = await request.json()
        if not isinstance(changes, dict):
            return JSONResponse({"error": "send a JSON object of settings"}, status_code=400)
        try:
            config = ctx.configure(**changes)
        except (TypeError, ValueError) as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        if request.query_params.get("persist") == "true":
            ctx.save_config()
        return JSONResponse(config.to_json())

    async def creations(request: Request) -> JSONResponse:
        provider = request.query_params.get("provider")
        log = ctx.store.creations(provider)
        return JSONResponse({"data": [c.to_json() for c in log]})

    async def calls(request: Request) -> JSONResponse:
        provider = request.query_params.get("provider")
        return JSONResponse({"data": [c.to_json() for c in ctx.sync_log.calls(provider)]})

    async def provider_calls(request: Request) -> JSONResponse:
        provider = request.query_params.get("provider")
        return JSONResponse({"data": [c.to_json() for c in ctx.call_log.calls(provider)]})

    return [
        Route("/_sandbox/calls", calls, methods=["GET"]),
        Route("/_sandbox/provider-calls", provider_calls, methods=["GET"]),
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/config", get_config, methods=["GET"]),
        Route("/_sandbox/config", set_config, methods=["POST"]),
        Route("/_sandbox/creations", creations, methods=["GET"]),
    ]
