"""The sandbox core without any provider: clock, fates, answers, storage and admin routes."""

from __future__ import annotations

import math
import random
from pathlib import Path

import httpx
import jsonschema
import pytest

from batchgraph.sandbox import SandboxConfig, read_creations, run_sandbox
from batchgraph.sandbox.clock import Phase, Timeline, progress
from batchgraph.sandbox.fate import Fates
from batchgraph.sandbox.responder import answer, embedding
from batchgraph.sandbox.schema_fill import fill
from batchgraph.sandbox.storage import BatchRecord, Creation, SandboxStore

DAY = 86400.0


def test_batch_walks_through_phases_as_virtual_time_passes() -> None:
    timeline = Timeline.plan(SandboxConfig(time_scale=10, processing_seconds=100), 1000.0, DAY)
    assert progress(timeline, 1000.0).phase is Phase.VALIDATING
    assert progress(timeline, 1001.5).phase is Phase.RUNNING
    assert progress(timeline, 1009.5).phase is Phase.FINALIZING
    done = progress(timeline, 1010.0)
    assert done.phase is Phase.COMPLETED
    assert done.events[Phase.COMPLETED] == 100.0


def test_expire_fraction_ends_batch_at_window_with_that_share_done() -> None:
    config = SandboxConfig(time_scale=DAY, processing_seconds=0, expire_fraction=0.25)
    timeline = Timeline.plan(config, 0.0, DAY)
    assert progress(timeline, 0.5).phase is Phase.RUNNING
    end = progress(timeline, 1.0)
    assert end.phase is Phase.EXPIRED
    assert end.done_share == pytest.approx(0.25)


def test_cancel_keeps_share_done_when_cancel_was_asked() -> None:
    timeline = Timeline.plan(SandboxConfig(processing_seconds=100), 0.0, DAY)
    assert progress(timeline, 50.0, cancel_requested=50.0).phase is Phase.CANCELLING
    cancelled = progress(timeline, 60.0, cancel_requested=50.0)
    assert cancelled.phase is Phase.CANCELLED
    assert cancelled.done_share == pytest.approx((50 - 10) / 80)


def test_instant_config_completes_at_once() -> None:
    timeline = Timeline.plan(SandboxConfig.instant(), 5.0, DAY)
    assert progress(timeline, 5.0).phase is Phase.COMPLETED


def test_failure_rate_fails_about_that_share_and_the_same_ids_every_time() -> None:
    fates = Fates(SandboxConfig(failure_rate=0.3))
    failing = [i for i in range(2000) if fates.fails(f"r{i}")]
    assert 500 < len(failing) < 700
    assert failing == [
        i for i in range(2000) if Fates(SandboxConfig(failure_rate=0.3)).fails(f"r{i}")
    ]


def test_fail_ids_regex_fails_matching_requests_only() -> None:
    fates = Fates(SandboxConfig(fail_ids=r"^bad-"))
    assert fates.fails("bad-1") and not fates.fails("good-1")


def test_headers_override_config_for_one_call() -> None:
    config = SandboxConfig().with_headers({"x-sandbox-failure-rate": "0.5", "other": "x"})
    assert config.failure_rate == 0.5
    with pytest.raises(ValueError, match="unknown sandbox setting"):
        SandboxConfig().with_headers({"x-sandbox-nope": "1"})


def test_config_round_trips_through_json_including_instant_clock() -> None:
    config = SandboxConfig(time_scale=math.inf, fail_ids="x")
    assert SandboxConfig.from_json(config.to_json()) == config


def test_same_prompt_gets_same_answer_with_realistic_tokens() -> None:
    first = answer("What is 2+2? " * 10)
    assert first == answer("What is 2+2? " * 10)
    assert first.input_tokens == math.ceil(130 / 4)
    assert first.output_tokens == len(first.text.split())


def test_max_tokens_truncates_answer() -> None:
    short = answer("hello", max_tokens=2)
    assert short.truncated and short.output_tokens == 2


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3},
        "mood": {"enum": ["happy", "sad"]},
        "score": {"type": "number", "minimum": 1, "maximum": 5},
        "count": {"type": "integer", "minimum": 10},
        "ok": {"type": "boolean"},
        "when": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "child": {"$ref": "#/$defs/child"},
        "maybe": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
    },
    "required": ["name", "mood", "score", "count", "ok", "when", "tags", "child", "maybe"],
    "additionalProperties": False,
    "$defs": {
        "child": {
            "type": "object",
            "properties": {"x": {"type": ["integer", "null"]}},
            "required": ["x"],
            "additionalProperties": False,
        }
    },
}


def test_schema_answers_validate_against_the_schema() -> None:
    for i in range(50):
        jsonschema.validate(fill(SCHEMA, random.Random(i)), SCHEMA)
    result = answer("give me json", schema=SCHEMA)
    jsonschema.validate(result.parsed, SCHEMA)


def test_embeddings_are_deterministic_unit_vectors_of_256_dimensions() -> None:
    vector = embedding("hello")
    assert len(vector) == 256 and vector == embedding("hello") != embedding("bye")
    assert sum(v * v for v in vector) == pytest.approx(1.0, abs=1e-3)


def test_store_keeps_batches_and_creations_across_reopening(tmp_path: Path) -> None:
    store = SandboxStore(tmp_path)
    timeline = Timeline.plan(SandboxConfig(), 1.0, DAY)
    record = BatchRecord("b1", "openai", timeline, SandboxConfig(), {"endpoint": "/v1/x"})
    store.add_batch(record, Creation("openai", "b1", 1.0, 3, {"tag": "t"}))
    again = SandboxStore(tmp_path)
    assert again.get_batch("openai", "b1") == record
    assert [c.metadata for c in read_creations(tmp_path, "openai")] == [{"tag": "t"}]
    assert again.set_outcome("b1", {"n": 1}) == {"n": 1}
    assert again.set_outcome("b1", {"n": 2}) == {"n": 1}


def test_admin_endpoint_changes_config_at_run_time(tmp_path: Path) -> None:
    with run_sandbox(tmp_path) as sandbox:
        reply = httpx.post(f"{sandbox.url}/_sandbox/config", json={"failure_rate": 0.3})
        assert reply.json()["failure_rate"] == 0.3
        assert sandbox.config.failure_rate == 0.3
        bad = httpx.post(f"{sandbox.url}/_sandbox/config", json={"nope": 1})
        assert bad.status_code == 400
        assert httpx.get(f"{sandbox.url}/_sandbox/creations").json() == {"data": []}


def test_pytest_fixture_serves_a_sandbox(batchgraph_sandbox) -> None:  # type: ignore[no-untyped-def]
    assert httpx.get(f"{batchgraph_sandbox.url}/_sandbox/health").json() == {"ok": True}
    assert batchgraph_sandbox.base_url("openai").endswith("/openai/v1")
