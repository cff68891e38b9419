"""The same input submitted twice is one job: a re-run script never pays again."""

from __future__ import annotations

import json
from pathlib import Path

from batchgraph.api import Batchgraph
from batchgraph.io import ReadOptions
from batchgraph.runner.loop import Backoff, run_job
from batchgraph.sandbox.server import SandboxHandle
from batchgraph.store.base import JobStatus

from .conftest import write_prompts

NO_WAIT = Backoff(initial=0.0, cap=0.0)
OPTIONS = ReadOptions(model="gpt-4o-mini")


def test_second_submit_of_the_same_input_returns_the_first_job_and_creates_no_batch(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 30)
    first = bg.submit(source, provider="openai", options=OPTIONS)
    run_job(bg, first, NO_WAIT)
    created = len(batchgraph_sandbox.creations())

    again = bg.submit(source, provider="openai", options=OPTIONS)

    assert again == first
    assert len(bg.jobs()) == 1
    assert len(batchgraph_sandbox.creations()) == created
    assert bg.view(again).job.status is JobStatus.DONE


def test_a_resubmit_after_a_crash_resumes_the_job_instead_of_paying_again(
    bg: Batchgraph, tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 40)
    first = bg.submit(source, provider="openai", options=OPTIONS, batch_size=10)
    # The script died after its first step; it is started again from the top.
    again = bg.submit(source, provider="openai", options=OPTIONS, batch_size=10)
    view = run_job(bg, again, NO_WAIT)

    assert again == first
    assert view.counts["succeeded"] == 40
    tags = [(c.metadata or {}).get("batchgraph_tag") for c in batchgraph_sandbox.creations()]
    assert len(tags) == len(set(tags)) == 4


def test_changed_content_options_or_provider_make_a_new_job(bg: Batchgraph, tmp_path: Path) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 3)
    first = bg.submit(source, provider="openai", options=OPTIONS)

    other_model = bg.submit(source, provider="openai", options=ReadOptions(model="gpt-4o"))
    other_provider = bg.submit(
        source, provider="mistral", options=ReadOptions(model="mistral-small-latest")
    )
    with source.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "extra", "prompt": "One more?"}) + "\n")
    other_content = bg.submit(source, provider="openai", options=OPTIONS)

    assert len({first, other_model, other_provider, other_content}) == 4


def test_new_makes_a_second_job_and_a_later_submit_finds_the_newest(
    bg: Batchgraph, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 3)
    first = bg.submit(source, provider="openai", options=OPTIONS)

    second = bg.submit(source, provider="openai", options=OPTIONS, new=True)

    assert second != first
    assert bg.submit(source, provider="openai", options=OPTIONS) == second


def test_an_explicit_key_names_the_job_whatever_the_file(bg: Batchgraph, tmp_path: Path) -> None:
    one = write_prompts(tmp_path / "one.jsonl", 3)
    two = write_prompts(tmp_path / "two.jsonl", 5)
    first = bg.submit(one, provider="openai", options=OPTIONS, key="nightly-2026-11-30")

    assert bg.submit(two, provider="openai", options=OPTIONS, key="nightly-2026-11-30") == first
    assert bg.submit(two, provider="openai", options=OPTIONS) != first


def test_a_cancelled_job_does_not_stand_in_for_a_new_submit(bg: Batchgraph, tmp_path: Path) -> None:
    source = write_prompts(tmp_path / "in.jsonl", 3)
    first = bg.submit(source, provider="openai", options=OPTIONS)
    bg.cancel(first)

    assert bg.submit(source, provider="openai", options=OPTIONS) != first
