"""Running `batchgraph` as a user does: a new process, its data in a scratch home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from batchgraph.api import Batchgraph
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore
from batchgraph.store.base import JobRecord

UPLOADS_AND_CREATES = (
    r"^POST /((openai/)?(v1/)?(files|batches|messages/batches|batch/jobs)"
    r"|upload/v1beta/files|v1beta/models/[^/]+:(batchGenerateContent|asyncBatchEmbedContent))$"
)
"""The calls of a job's first step that send something: uploads and batch creations, under
every personality's paths (Azure's `/openai/…`, Groq's `/openai/v1/…`, Gemini's resumable
upload and create calls)."""


def environment(home: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment: `home` as BATCHGRAPH_HOME, no provider keys unless given."""
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.endswith(("_API_KEY", "_BASE_URL")) and name != "BATCHGRAPH_DB"
    }
    return {**base, "BATCHGRAPH_HOME": str(home), "COLUMNS": "200", **(env or {})}


def batchgraph(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`batchgraph ARGS` in a new process, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "batchgraph", *args],
        env=environment(home, env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def start(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`batchgraph ARGS` in a new process, left running (its stderr readable line by line)."""
    return subprocess.Popen(
        [sys.executable, "-m", "batchgraph", *args],
        env=environment(home, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sandbox_home(home: Path, config: SandboxConfig) -> Path:
    """A home whose embedded sandbox behaves as `config` says."""
    SandboxContext(SandboxStore(home / "sandbox"), config).save_config()
    return home


def stored_jobs(home: Path) -> list[JobRecord]:
    """Every job in the home's database, newest first."""
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        return bg.jobs()
