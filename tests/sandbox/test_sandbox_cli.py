"""`batchgraph sandbox` serves until interrupted and prints the base URL for each SDK."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx


def test_sandbox_command_prints_base_urls_and_serves(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-c",
        "from batchgraph.cli import main; main()",
        "sandbox",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path),
        "--time-scale",
        "instant",
        "--failure-rate",
        "0.25",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(5)]
        urls = {line.split()[0]: line.split()[-1] for line in lines[1:4]}
        assert urls["openai"].endswith("/openai/v1")
        assert urls["anthropic"].endswith("/anthropic")
        root = lines[0].split()[3]
        config = httpx.get(f"{root}/_sandbox/config").json()
        assert config["failure_rate"] == 0.25 and config["processing_seconds"] == 0
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert (tmp_path / "sandbox.sqlite3").exists()
