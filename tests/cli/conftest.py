"""Fixtures for the commands as a user types them: a small table input (`home` is shared)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text("review_id,stars,text\nA7,5,Great kettle\nB2,1,Broke in a week\nC9,3,Fine\n")
    return path
