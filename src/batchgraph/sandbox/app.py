"""The sandbox ASGI app: every provider under its own prefix on one port.

Adding a provider
-----------------
A host of a protocol the sandbox already speaks is one `Personality` in
`sandbox/personalities.py`. A new protocol is a module `batchgraph/sandbox/<protocol>.py`
exposing two functions, plus a personality naming it:

    def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
        '''Routes relative to the personality's prefix, e.g. Route("/v1/messages/batches", …);
        one protocol module may serve several personalities (their own store namespace is
        `personality.name`).'''

    def error_response(status: int, kind: ErrorKind, message: str, *,
                       param: str | None = None) -> Response:
        '''An HTTP error in the provider's own body shape (used for 401/429/5xx faults too).'''

The core gives a provider module (through `ctx: SandboxContext`):

* `ctx.store` (`storage.SandboxStore`): files (`writing`, `add_file`, `get_file`, `list_files`,
  `delete_file`), batches (`add_batch` — which also logs the creation —, `get_batch`,
  `list_batches`, `request_cancel`, `delete_batch`) and the creations log.
* `ctx.config` (`config.SandboxConfig`): the server-wide config; apply a create call's
  `x-sandbox-*` headers with `ctx.config.with_headers(request.headers)` and store the result
  with the batch.
* `clock.Timeline.plan(config, created, window)` and `clock.progress(timeline, now, cancel)`:
  the batch's phase from the clock, never advanced in the background.
* `fate.Fates(config)`: which request fails and when each finishes (by custom_id).
* `responder.answer(...)` / `responder.embedding(...)`: the synthetic answers.
* `ctx.settle(record, produce)`: write a batch's result files exactly once when it ends;
  `results.ShuffledLines` writes them in one pass in a non-input order.

Auth (401 without a key or a signed link), rate limits, 5xx blips and latency are applied in
front of every provider route by `faults.FaultMiddleware`; provider modules do not handle them.
"""

from __future__ import annotations

import importlib

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from batchgraph.sandbox import admin, personalities
from batchgraph.sandbox.context import ProviderModule, SandboxContext
from batchgraph.sandbox.faults import FaultMiddleware, Served


def load_providers() -> dict[str, Served]:
    """Each personality with its protocol module; one whose module is not written yet is simply
    not served."""
    served: dict[str, Served] = {}
    for name, personality in personalities.PERSONALITIES.items():
        qualified = f"batchgraph.sandbox.{personality.protocol}"
        try:
            module: ProviderModule = importlib.import_module(qualified)
        except ModuleNotFoundError as err:
            if err.name != qualified:
                raise
            continue
        served[name] = Served(personality, module)
    return served


def build_app(ctx: SandboxContext) -> Starlette:
    """The ASGI app serving every available personality, plus `/_sandbox/` admin routes."""
    providers = load_providers()
    routes: list[BaseRoute] = list(admin.routes(ctx))
    for served in providers.values():
        prefix = served.personality.prefix
        routes.append(Mount(prefix, routes=served.module.routes(ctx, served.personality)))
    return Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, ctx=ctx, providers=providers)],
    )
