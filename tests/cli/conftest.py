"""Fixtures for the commands as a user types them: a home folder and a small table input."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BATCHGRAPH_HOME in a temporary folder, its embedded sandbox finishing batches at once."""
    home = tmp_path / "home"
    SandboxContext(SandboxStore(home / "sandbox"), SandboxConfig.instant()).save_config()
    monkeypatch.setenv("BATCHGRAPH_HOME", str(home))
    monkeypatch.delenv("BATCHGRAPH_DB", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return home


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text("review_id,stars,text\nA7,5,Great kettle\nB2,1,Broke in a week\nC9,3,Fine\n")
    return path
