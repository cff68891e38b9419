"""Fixtures: the job fixtures of tests/graph, and `langgraph dev` on a free port.

The server runs from the repository (where `langgraph.json` is) with batchgraph's data in a
temporary folder; clients reach it only over HTTP, from the test's own working directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore
from tests.graph.conftest import bg
from tests.patience import HANG_S

__all__ = ["LangGraphServer", "bg", "langgraph_server"]

REPO = Path(__file__).resolve().parents[2]
START_UP_SECONDS = HANG_S
"""Only a bound on a server that never starts (not a speed check)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LangGraphServer:
    url: str
    home: Path
    """batchgraph's data folder on the server's side (the sandbox's files are under it)."""
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> object:
        from langgraph_sdk import get_sync_client

        return get_sync_client(url=self.url, timeout=httpx.Timeout(600.0))

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_server(tmp_path: Path, config: SandboxConfig) -> LangGraphServer:
    langgraph = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    if langgraph is None:
        pytest.fail("langgraph-cli is not installed (pip install -e '.[dev]')")
    home = tmp_path / "server-home"
    SandboxContext(SandboxStore(home / "sandbox"), config).save_config()
    port = free_port()
    env = {
        **os.environ,
        "BATCHGRAPH_HOME": str(home),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("LANGSMITH_API_KEY", None)
    env.pop("BATCHGRAPH_DB", None)
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [langgraph, "dev", "--no-browser", "--no-reload", "--port", str(port),
             "--config", str(REPO / "langgraph.json"), "--allow-blocking"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = LangGraphServer(f"http://127.0.0.1:{port}", home, process, log)
    deadline = time.monotonic() + START_UP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{server.url}/ok", timeout=HANG_S).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    stop_server(server)
    pytest.fail(f"langgraph dev did not start:\n{server.output()}")


def stop_server(server: LangGraphServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def langgraph_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LangGraphServer]:
    """`langgraph dev`, offline, whose sandbox finishes batches at once; the test runs in
    another directory than the server, so nothing but HTTP joins them."""
    server = start_server(tmp_path, SandboxConfig.instant())
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    monkeypatch.chdir(client_dir)
    try:
        yield server
    finally:
        stop_server(server)
