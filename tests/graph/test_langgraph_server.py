"""The same two-phase flow through `langgraph dev`, driven over HTTP with `langgraph_sdk`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore, read_creations

from .conftest import write_prompts

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`langgraph dev` on a free port, offline, its batchgraph data in a temporary folder."""
    langgraph = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    if langgraph is None:
        pytest.skip("langgraph-cli is not installed (pip install -e '.[dev]')")
    home = tmp_path / "home"
    config = SandboxConfig(time_scale=3600.0, processing_seconds=3600.0)
    SandboxContext(SandboxStore(home / "sandbox"), config).save_config()
    port = free_port()
    env = {
        **os.environ,
        "BATCHGRAPH_HOME": str(home),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
    }
    env.pop("LANGSMITH_API_KEY", None)
    env.pop("BATCHGRAPH_DB", None)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [langgraph, "dev", "--no-browser", "--no-reload", "--port", str(port),
         "--config", str(REPO / "langgraph.json"), "--allow-blocking"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            process.kill()
            process.wait()
            pytest.fail(
                f"langgraph dev did not start:\n{(tmp_path / 'server.log').read_text()[-3000:]}"
            )
        yield url, home
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_langgraph_server_submits_then_later_runs_collect_until_done(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    from langgraph_sdk import get_sync_client

    url, home = server
    client = get_sync_client(url=url)
    source = write_prompts(tmp_path / "in.jsonl", 12)
    thread = client.threads.create(metadata={"job": "server-test"})["thread_id"]

    new_job = {"input": str(source), "provider": "sandbox-anthropic",
               "read": {"model": "claude-haiku-4-5"}}  # fmt: skip
    first = client.runs.wait(thread, "batch_job", input={"new_job": new_job})
    assert isinstance(first, dict) and first["job_id"]
    assert len(read_creations(home / "sandbox", "anthropic")) == 1

    for _ in range(60):
        state = client.threads.get_state(thread)["values"]
        if state.get("report"):
            break
        time.sleep(0.3)
        client.runs.wait(thread, "batch_job", input={})
    report = client.threads.get_state(thread)["values"]["report"]

    assert report["counts"]["succeeded"] == 12
    assert report["accounted"] is True
    assert len(read_creations(home / "sandbox", "anthropic")) == 1
