"""Child processes for the benchmarks: the sandbox server, and measured client runs.

The sandbox runs in a process of its own so that its CPU time and memory never count as the
client's. A client run is measured from the parent: wall time from spawn to exit, and the peak
resident memory of that one process as the kernel reports it (`wait4`'s `ru_maxrss`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
BATCHGRAPH = str(BIN / "batchgraph")
SANDBOX_KEY = "sandbox-key"
BASE_URL_ENV = {
    "openai": "OPENAI_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "mistral": "MISTRAL_BASE_URL",
    "gemini": "GEMINI_BASE_URL",
}
URL_SUFFIX = {
    "openai": "/openai/v1",
    "anthropic": "/anthropic",
    "mistral": "/mistral",
    "gemini": "/gemini",
}


@dataclass(frozen=True, slots=True)
class Measured:
    """One finished child process."""

    started: float
    """Wall-clock time (`time.time()`) just before the spawn."""
    seconds: float
    peak_mb: float
    stdout: str
    cpu_seconds: float = 0.0
    """User plus system CPU time of the child: what it did, less swayed by a loaded machine."""


def measure(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, stdout: Path | None = None
) -> Measured:
    """Run `command` to its end; raise if it fails."""
    out_path = stdout or cwd / "stdout.txt"
    with out_path.open("w") as out:
        started = time.time()
        start = time.perf_counter()
        child = subprocess.Popen(command, env=dict(env), cwd=cwd, stdout=out, stderr=out)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}:\n{text[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(started, seconds, usage.ru_maxrss / 1024, text, cpu)


def provider_env(provider: str, server_url: str, home: Path) -> dict[str, str]:
    """The environment of a client run: sandbox key and address, a fresh data directory."""
    env = dict(os.environ)
    env[f"{provider.upper()}_API_KEY"] = SANDBOX_KEY
    env[BASE_URL_ENV[provider]] = server_url + URL_SUFFIX[provider]
    env["BATCHGRAPH_HOME"] = str(home)
    env.pop("BATCHGRAPH_DB", None)
    env["COLUMNS"] = "100"
    return env


@contextmanager
def sandbox_server(data_dir: Path) -> Iterator[str]:
    """`batchgraph sandbox` on a free port, batches finishing as soon as they are created
    (`SandboxConfig.instant()`: real-time clock, no processing time; an infinite time scale
    would also age Anthropic's results past their 29-day archive at once); yields its URL."""
    command = [BATCHGRAPH, "sandbox", "--port", "0", "--processing-seconds", "0"]
    command += ["--data-dir", str(data_dir)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()  # "batchgraph sandbox on http://…:port (data in …)"
        url = first.split(" on ", 1)[1].split()[0]
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
