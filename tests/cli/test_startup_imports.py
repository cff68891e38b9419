"""Commands that only read the store start without LangGraph, any provider SDK or pydantic.

Each command runs in a fresh interpreter, as a user runs it; the modules it imported are
listed after it ends. Not a timing test: what is imported is the cause, `make bench` measures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.io import ReadOptions

HEAVY = (
    "langgraph", "langchain_core", "openai", "anthropic", "mistralai", "google", "pydantic",
    "pyarrow", "httpx", "psycopg", "uvicorn", "starlette", "jsonschema",
)  # fmt: skip

PROBE = """
import runpy, sys, json
sys.argv = ["batchgraph", *json.loads(sys.argv[1])]
try:
    runpy.run_module("batchgraph", run_name="__main__")
except SystemExit as end:
    assert end.code in (0, None), end.code
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A home folder whose database holds one job (created, not sent); the job's id."""
    home = tmp_path_factory.mktemp("startup")
    source = home / "in.jsonl"
    source.write_text('{"id": "a", "prompt": "hi"}\n')
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        options = ReadOptions(model="gpt-4o-mini")
        job_id = bg.create(source, provider="sandbox-openai", options=options)
    return home, job_id


def imported_by(args: list[str], home: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "BATCHGRAPH_DB"}
    ran = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env={**env, "BATCHGRAPH_HOME": str(home)},
        cwd=home,
    )
    assert ran.returncode == 0, ran.stderr
    return set(json.loads(ran.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "args", [["--help"], ["status"], ["list"], ["status", "JOB"], ["list", "--json"]]
)
def test_reading_commands_import_nothing_heavy(args: list[str], store: tuple[Path, str]) -> None:
    home, job_id = store
    loaded = imported_by([job_id if a == "JOB" else a for a in args], home)
    assert "batchgraph" in loaded and "typer" in loaded  # the probe did run the CLI
    assert sorted(loaded & set(HEAVY)) == []


def test_the_probe_sees_heavy_imports_when_a_command_makes_them(store: tuple[Path, str]) -> None:
    """`collect` sends the job's batch: it does need LangGraph and the SDK."""
    home, job_id = store
    assert {"langgraph", "openai"} <= imported_by(["collect", job_id], home)
