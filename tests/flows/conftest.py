"""A home folder whose embedded sandbox finishes batches at once, for the chat model."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    SandboxContext(SandboxStore(home / "sandbox"), SandboxConfig.instant()).save_config()
    monkeypatch.setenv("BATCHGRAPH_HOME", str(home))
    monkeypatch.delenv("BATCHGRAPH_DB", raising=False)
    return home
