"""Kill `flow run` at random moments: every thread still ends once, no batch is paid twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.flows import create_flow
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.storage import SandboxStore, read_creations

GRAPH = f"{Path(__file__).with_name('review_graph.py')}:graph"
TRIALS = 20


def new_home(path: Path) -> Path:
    SandboxContext(
        SandboxStore(path / "sandbox"), SandboxConfig(processing_seconds=0.5)
    ).save_config()
    return path


def stored_flow(home: Path, source: Path) -> str:
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        return create_flow(bg, graph=GRAPH, input=source, provider="sandbox-openai",
                           model="gpt-4o-mini")  # fmt: skip


def flow_cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BATCHGRAPH_HOME": str(home)}
    env.pop("BATCHGRAPH_DB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "batchgraph", "flow", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(home: Path, flow_id: str, out: Path) -> None:
    done = flow_cli(home, "run", "--job", flow_id, "-o", str(out), "--poll-max", "0.2")
    stdout, stderr = done.communicate()
    assert done.returncode == 0, stderr
    assert "done" in stdout


def tags(home: Path) -> list[str]:
    return [c.metadata["batchgraph_tag"] for c in read_creations(home / "sandbox", "openai")]


@pytest.mark.slow
def test_flow_run_killed_at_random_moments_ends_with_the_outputs_of_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"id": f"r{n}", "review": f"Mug {n} chips."}) + "\n"
                              for n in range(30)))  # fmt: skip
    calm = new_home(tmp_path / "calm")
    finish(calm, stored_flow(calm, source), tmp_path / "calm.jsonl")
    expected = (tmp_path / "calm.jsonl").read_text()

    rng = random.Random(20261130)
    for trial in range(TRIALS):
        home = new_home(tmp_path / f"trial{trial}")
        flow_id = stored_flow(home, source)
        for _ in range(rng.randint(1, 3)):
            runner = flow_cli(home, "run", "--job", flow_id, "--poll-max", "0.2")
            time.sleep(rng.uniform(0.2, 6.0))
            runner.send_signal(signal.SIGKILL)
            runner.communicate()
        out = tmp_path / f"trial{trial}.jsonl"
        finish(home, flow_id, out)

        assert out.read_text() == expected, f"trial {trial}"
        created = tags(home)
        assert [tag for tag, n in Counter(created).items() if n > 1] == [], f"trial {trial}"
        assert len(created) == 3, f"trial {trial}: one batch per wave"
