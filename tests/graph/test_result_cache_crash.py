"""A first job SIGKILLed midway, then a second job over the same requests: the second never pays
for a request the first already has an answer for, and every input ends with one result."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

import pytest

from batchgraph.api import Batchgraph
from batchgraph.providers.registry import SANDBOX_PREFIX
from batchgraph.sandbox.storage import read_creations
from batchgraph.store.base import LedgerStatus
from tests.patience import HANG_S

from .conftest import MODELS
from .test_cli_two_phase import cli
from .test_crash_and_concurrency import sandbox_home, start_cli, tag_of

PROMPTS = 600
BATCH = 50


def prompts_file(path: Path, order: list[int], prefix: str) -> Path:
    lines = [{"id": f"{prefix}{n}", "prompt": f"Is {n} a prime number?"} for n in order]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def answered(home: Path, job_id: str) -> set[str]:
    """The prompts the job holds an answer for."""
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        return {
            row.request.messages[0]["content"]
            for row in bg.ledger(job_id)
            if row.status is LedgerStatus.SUCCEEDED
        }


def only_job(home: Path, besides: set[str]) -> str:
    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        [job] = [j.id for j in bg.jobs() if j.id not in besides]
    return job


def requests_sent(home: Path, job_id: str) -> int:
    """Requests in the batches the sandbox was asked to create for the job."""
    return sum(
        c.request_count
        for c in read_creations(home / "sandbox")
        if (tag_of(c) or "").startswith(f"bg{job_id}c")
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("trial", "provider", "shuffled"),
    [(0, "openai", False), (1, "anthropic", True), (2, "mistral", False), (3, "openai", True)],
)
def test_a_second_job_after_a_killed_first_never_pays_for_an_answer_the_first_has(
    trial: int, provider: str, shuffled: bool, tmp_path: Path
) -> None:
    rng = random.Random(trial)
    # Each batch takes a second of the provider's work and every call 0.15 s: a kill lands
    # with some of the first job's batches collected and others not.
    home = sandbox_home(tmp_path, time_scale=3600.0, processing_seconds=3600.0, latency=0.15)
    first_input = prompts_file(tmp_path / "first.jsonl", list(range(PROMPTS)), "q")
    common = ["-p", SANDBOX_PREFIX + provider, "-m", MODELS[provider], "--batch-size", str(BATCH)]
    runner = start_cli(home, "run", str(first_input), *common, "--poll-max", "0.2")
    deadline = time.monotonic() + HANG_S
    while time.monotonic() < deadline and not (home / "batchgraph.db").exists():
        time.sleep(0.05)
    first = ""
    while time.monotonic() < deadline and not first:
        try:
            first = only_job(home, set())
        except ValueError:
            time.sleep(0.05)
    # Killed once it holds some answers, at a random moment after that.
    while time.monotonic() < deadline and not answered(home, first):
        assert runner.poll() is None, f"the first job ended unkilled: {runner.communicate()[1]}"
        time.sleep(0.05)
    assert answered(home, first), "no answer in the first job after waiting HANG_S"
    time.sleep(rng.uniform(0.0, 1.5))
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    had = answered(home, first)
    assert len(had) > 0, "the first job was killed before it held any answer"

    if shuffled:  # the same requests under other ids and in another order, and new ones
        order = list(range(PROMPTS + 40))
        rng.shuffle(order)
        second_input = prompts_file(tmp_path / "second.jsonl", order, "x")
        args = [str(second_input)]
    else:
        order, second_input, args = list(range(PROMPTS)), first_input, [str(first_input), "--new"]
    out = tmp_path / "out.jsonl"
    finished = cli(home, "run", *args, *common, "--poll-max", "0.2", "-o", str(out))
    assert finished.returncode == 0, finished.stderr
    second = only_job(home, {first})

    with Batchgraph.open(str(home / "batchgraph.db"), data_dir=home) as bg:
        rows = list(bg.ledger(second))
        report = bg.report(second)
    sent = [row for row in rows if row.chunk is not None]
    # Nothing the first job had an answer for was sent again, and the ledger's account of
    # what was sent is what the provider was asked for.
    assert not {row.request.messages[0]["content"] for row in sent} & had
    assert requests_sent(home, second) == len(sent) == len(order) - len(had)
    assert report["reused"]["cache_hits"] == len(had)
    # Every input has exactly one result, in input order, with its own id.
    records = [json.loads(line) for line in out.read_text().splitlines()]
    prefix = "x" if shuffled else "q"
    assert [r["id"] for r in records] == [f"{prefix}{n}" for n in order]
    assert all(r["status"] == "succeeded" and r["text"] for r in records)
    assert report["accounted"] and report["counts"]["succeeded"] == len(order)
