"""Docstring examples are promises to a reader: each one runs here, in a scratch folder."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import batchgraph

EXAMPLE_MODULES = [
    "batchgraph",
    "batchgraph.api",
    "batchgraph.estimate_reuse",
    "batchgraph.langchain.chat_model",
]
"""Every module whose docstrings hold `>>>` examples (the test below keeps this list whole)."""


@pytest.mark.parametrize("name", EXAMPLE_MODULES)
def test_docstring_examples_run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATCHGRAPH_HOME", raising=False)
    monkeypatch.delenv("BATCHGRAPH_DB", raising=False)
    module = importlib.import_module(name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS, raise_on_error=False)
    assert outcome.attempted > 0, f"{name} has no examples"
    assert outcome.failed == 0, f"{outcome.failed} example(s) of {name} failed (output above)"


def test_every_module_with_examples_is_tested() -> None:
    root = Path(batchgraph.__file__).parent
    with_examples = {
        ".".join(("batchgraph", *path.relative_to(root).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for path in root.rglob("*.py")
        if ">>> " in path.read_text(encoding="utf-8")
    }
    assert with_examples == set(EXAMPLE_MODULES)
