"""A chat model's call answered now, on the provider's synchronous API (outside any flow).

The call is read as a plain input line, so it is checked exactly as a job's requests are, and
sent through the synchronous executor (its retries, `Retry-After` and backoff) at the
synchronous price: for trying a graph in a notebook or `langgraph dev` before it runs as a
flow at batch price.

The provider's client is opened once per process and kept (`DirectCalls`): opening one loads
the TLS certificates, which costs far more than a call, and a graph run outside a flow makes
many calls in a row.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage

from batchgraph.errors import InputError
from batchgraph.io.plain import plain_entry
from batchgraph.langchain.convert import ai_message
from batchgraph.model import JSON, Outcome, Request, Result

if TYPE_CHECKING:
    from batchgraph.langchain.chat_model import BatchChatModel
    from batchgraph.providers.base import Provider
    from batchgraph.providers.sync_api import SyncClient


def answer_now(model: BatchChatModel, line: dict[str, JSON]) -> AIMessage:
    """Send one request line synchronously; its answer, or `BatchCallFailed` saying why not."""
    from batchgraph.deps import default_data_dir
    from batchgraph.langchain.chat_model import BatchCallFailed
    from batchgraph.langchain.jobs import read_options, require_target
    from batchgraph.providers import HostAddress, open_provider

    provider_name, _ = require_target(model)
    entry = plain_entry(line, 1, read_options(model))
    if entry.request is None:
        raise InputError("BatchChatModel call", list(entry.problems))
    sandbox_dir = (model.data_dir or default_data_dir()) / "sandbox"
    address = HostAddress(model.base_url, model.api_key_env)
    where = (str(model.base_url), str(model.api_key_env))
    result = DIRECT_CALLS.send(
        (provider_name, str(sandbox_dir), *where, _provider_environment()),
        lambda: open_provider(provider_name, sandbox_dir=sandbox_dir, address=address),
        entry.request,
    )
    if result.outcome is not Outcome.SUCCEEDED:
        error = result.error
        raise BatchCallFailed(
            f"{provider_name} call failed: {error.message if error else result.outcome.value}"
        )
    return ai_message(result_record(result), provider_name, job_id="")


def result_record(result: Result) -> dict[str, Any]:
    """The fields of a results record that `ai_message` reads, from a `Result`."""
    return {
        "text": result.text,
        "parsed": result.parsed,
        "model": result.model,
        "stop_reason": result.stop_reason,
        "input_tokens": result.usage.input_tokens,
        "output_tokens": result.usage.output_tokens,
        "cached_tokens": result.usage.cached_tokens,
        "batch_id": result.batch_id,
        "tool_calls": result.tool_calls,
    }


class DirectCalls:
    """Direct calls on one event loop, on a thread of its own, with one client per provider
    (and per environment: a changed key or address opens a new one), kept for the process.

    Each call runs through the synchronous executor (its retries, `Retry-After`, backoff) as a
    job's would; only the client and the loop outlive the call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[tuple[str, ...], SyncClient] = {}

    def send(
        self, key: tuple[str, ...], opener: Callable[[], Provider], request: Request
    ) -> Result:
        """The request's result (raises `QuotaExhausted` as the executor does)."""
        future: Future[Result] = asyncio.run_coroutine_threadsafe(
            self._send(key, opener, request), self._running_loop()
        )
        return future.result()

    async def _send(
        self, key: tuple[str, ...], opener: Callable[[], Provider], request: Request
    ) -> Result:
        from batchgraph.executors.sync import SyncSettings, execute
        from batchgraph.providers.base import WireItem

        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = opener().sync_client()
        found: list[Result] = []
        await execute(client, [WireItem("0", request)], found.extend, SyncSettings(concurrency=1))
        return found[0]

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="batchgraph-direct-calls", daemon=True
                ).start()
                self._loop = loop
            return self._loop


DIRECT_CALLS = DirectCalls()


def _provider_environment() -> str:
    """The settings a provider reads from the environment (keys and addresses), as part of
    the key its client is kept under; the text stays in memory only."""
    names = sorted(n for n in os.environ if n.endswith(("_API_KEY", "_BASE_URL", "_API_BASE")))
    return "\x1f".join(f"{n}={os.environ[n]}" for n in names)
