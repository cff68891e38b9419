"""Running the sandbox: uvicorn in a background thread on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from batchgraph.sandbox.app import build_app
from batchgraph.sandbox.call_log import ProviderCall
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext, load_saved_config
from batchgraph.sandbox.storage import Creation, SandboxStore
from batchgraph.sandbox.sync_log import SyncCall
from batchgraph.sandbox.urls import base_url_for

HOST = "127.0.0.1"


class SandboxHandle:
    """A running sandbox: where it is and how to steer it."""

    def __init__(self, url: str, ctx: SandboxContext, server: uvicorn.Server) -> None:
        self.url = url
        self.ctx = ctx
        self._server = server

    @property
    def data_dir(self) -> Path:
        return self.ctx.store.data_dir

    @property
    def config(self) -> SandboxConfig:
        return self.ctx.config

    def base_url(self, provider: str) -> str:
        """What to pass as the SDK's `base_url` (`server_url` for Mistral)."""
        return base_url_for(provider, self.url)

    def creations(self, provider: str | None = None) -> list[Creation]:
        """Every batch created on this sandbox's data directory, oldest first."""
        return self.ctx.store.creations(provider)

    def sync_calls(self, provider: str | None = None) -> list[SyncCall]:
        """Every synchronous call this server answered, oldest first (`sync_log`)."""
        return self.ctx.sync_log.calls(provider)

    def provider_calls(self, provider: str | None = None) -> list[ProviderCall]:
        """Every call this server received on a provider's routes, oldest first (`call_log`)."""
        return self.ctx.call_log.calls(provider)

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change the server's behaviour from now on (`failure_rate=0.3`, …)."""
        return self.ctx.configure(**changes)

    def stop(self) -> None:
        self._server.should_exit = True


def free_socket(host: str = HOST, port: int = 0) -> socket.socket:
    """A bound listening socket (port 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def make_context(data_dir: Path, config: SandboxConfig | None) -> SandboxContext:
    """The shared state for a server on `data_dir`; without a config, the one saved there."""
    store = SandboxStore(data_dir)
    return SandboxContext(store, config or load_saved_config(store) or SandboxConfig())


def start_sandbox(
    data_dir: Path,
    config: SandboxConfig | None = None,
    *,
    host: str = HOST,
    port: int = 0,
) -> tuple[SandboxHandle, threading.Thread]:
    """Start serving in a daemon thread; returns once the server accepts connections."""
    ctx = make_context(data_dir, config)
    sock = free_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(ctx),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="batchgraph-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.005)
    return SandboxHandle(f"http://{host}:{bound_port}", ctx, server), thread


@contextmanager
def run_sandbox(
    data_dir: Path, config: SandboxConfig | None = None, *, port: int = 0
) -> Iterator[SandboxHandle]:
    """Serve the sandbox for the duration of a `with` block."""
    handle, thread = start_sandbox(Path(data_dir), config, port=port)
    try:
        yield handle
    finally:
        handle.stop()
        thread.join(timeout=10)
