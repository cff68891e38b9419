"""`batchgraph sandbox` serves until interrupted and prints the base URL for each SDK."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def serving(*options: str, env: dict[str, str] | None = None) -> Iterator[list[str]]:
    """`batchgraph sandbox` on a free port; yields the lines it printed on start."""
    command = [sys.executable, "-c", "from batchgraph.cli import main; main()", "sandbox",
               "--port", "0", "--time-scale", "instant", *options]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        yield [server.stdout.readline() for _ in range(5)]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait()


def test_sandbox_command_prints_base_urls_and_serves(tmp_path: Path) -> None:
    with serving("--data-dir", str(tmp_path), "--failure-rate", "0.25") as lines:
        urls = {line.split()[0]: line.split()[-1] for line in lines[1:4]}
        assert urls["openai"].endswith("/openai/v1")
        assert urls["anthropic"].endswith("/anthropic")
        root = lines[0].split()[3]
        config = httpx.get(f"{root}/_sandbox/config").json()
        assert config["failure_rate"] == 0.25 and config["processing_seconds"] == 0
    assert (tmp_path / "sandbox.sqlite3").exists()


def test_sandbox_data_follows_batchgraph_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "BATCHGRAPH_HOME": str(home)}
    env.pop("BATCHGRAPH_DB", None)
    with serving(env=env) as lines:
        assert f"(data in {home / 'sandbox'})" in lines[0]
    assert (home / "sandbox" / "sandbox.sqlite3").exists()
