"""Chunks stay under each provider's caps and never mix models or endpoints."""

from __future__ import annotations

import json
from pathlib import Path

from batchgraph.deps import Deps
from batchgraph.jobs import create_job
from batchgraph.model import Kind, OutputSchema, Request
from batchgraph.planning import plan_chunks, plan_stored
from batchgraph.providers.base import Caps, WireItem
from batchgraph.providers.openai import OpenAIProvider
from batchgraph.providers.settings import ProviderSettings
from batchgraph.sandbox import SandboxHandle
from batchgraph.store.base import ChunkStatus, LedgerStatus
from batchgraph.store.sqlite import SqliteStore


class SmallOpenAI(OpenAIProvider):
    caps = Caps(max_requests=3, max_bytes=10_000)


def chat(n: int, model: str = "gpt-4o-mini", text: str = "hi") -> tuple[int, Request]:
    return n, Request(f"r{n}", n + 1, model, messages=({"role": "user", "content": text},))


def test_chunks_close_at_the_request_cap_and_keep_input_order() -> None:
    provider = SmallOpenAI(ProviderSettings("openai", "key"))

    chunks = plan_chunks([chat(n) for n in range(7)], provider)

    assert [list(c.indices) for c in chunks] == [[0, 1, 2], [3, 4, 5], [6]]


def test_chunks_close_at_the_byte_cap() -> None:
    provider = SmallOpenAI(ProviderSettings("openai", "key"))
    long_text = "x" * 4_000

    chunks = plan_chunks([chat(n, text=long_text) for n in range(3)], provider)

    assert [len(c.indices) for c in chunks] == [2, 1]
    assert all(c.size_bytes <= provider.caps.max_bytes for c in chunks)


def test_models_and_kinds_never_share_a_chunk() -> None:
    provider = SmallOpenAI(ProviderSettings("openai", "key"))
    embedding = Request("e", 9, "gpt-4o-mini", kind=Kind.EMBEDDING, input="text")
    requests = [chat(0), chat(1, model="gpt-4o"), (2, embedding), chat(3)]

    chunks = plan_chunks(requests, provider)

    assert [(c.model, list(c.indices)) for c in chunks] == [
        ("gpt-4o-mini", [0, 3]),
        ("gpt-4o", [1]),
        ("gpt-4o-mini", [2]),
    ]


def test_batch_size_lowers_the_provider_cap() -> None:
    provider = OpenAIProvider(ProviderSettings("openai", "key"))

    chunks = plan_chunks([chat(n) for n in range(5)], provider, batch_size=2)

    assert [len(c.indices) for c in chunks] == [2, 2, 1]


def _stored(request: Request) -> str:
    return json.dumps(request.to_json(), separators=(",", ":"), ensure_ascii=False)


def _awkward_requests() -> list[Request]:
    """Requests whose wire lines grow the most over their stored JSON."""
    schema = OutputSchema("", {"type": "object", "properties": {"é": {"type": "string"}}})
    return [
        Request(
            "a",
            1,
            "gpt-4o-mini",
            system="sÿstem ✓",
            max_tokens=10**9,
            temperature=0.1,
            output_schema=schema,
        ),
        Request("b", 2, "m", system="", output_schema=OutputSchema("ñame ✓" * 20, {})),
        Request("", 3, "gpt-4o-mini", messages=({"role": "user", "content": "ü" * 500},)),
        Request("e", 4, "text-embedding-3-small", kind=Kind.EMBEDDING, input="x"),
        Request("f", 5, "text-embedding-3-small", kind=Kind.EMBEDDING),
        Request("g", 6, "", messages=()),
    ]


def test_openai_size_bound_covers_every_real_line() -> None:
    provider = OpenAIProvider(ProviderSettings("openai", "key"))
    for request in _awkward_requests():
        for custom_id in ("0", "123456789_12", "x" * 64):
            real = provider.wire_size(WireItem(custom_id, request))
            stored = len(_stored(request).encode())
            assert real <= provider.wire_size_bound(stored, len(custom_id))


def test_planning_stored_requests_never_breaks_the_real_byte_cap() -> None:
    provider = SmallOpenAI(ProviderSettings("openai", "key"))
    requests = [(n, r) for n, r in enumerate(_awkward_requests() * 5)]
    requests += [chat(n, text="y" * (n * 37 % 3000)) for n in range(30, 60)]
    stored = [(n, _stored(r)) for n, r in requests]
    by_idx = dict(requests)

    chunks = plan_stored(stored, provider)

    assert sorted(i for c in chunks for i in c.indices) == sorted(by_idx)
    for chunk in chunks:
        assert len(chunk.indices) <= provider.caps.max_requests
        assert len({(by_idx[i].model, by_idx[i].kind) for i in chunk.indices}) == 1
        # Sent in a later round, every custom_id carries a suffix.
        real = sum(provider.wire_size(WireItem(f"{i}_99", by_idx[i])) for i in chunk.indices)
        assert real <= chunk.size_bytes <= provider.caps.max_bytes


def test_planning_stored_requests_matches_planning_requests() -> None:
    small = SmallOpenAI(ProviderSettings("openai", "key"))
    requests = [chat(0), chat(1, model="gpt-4o"), chat(2), chat(3), chat(4), chat(5)]
    stored = [(n, _stored(r)) for n, r in requests]

    planned = plan_stored(stored, small)

    assert [list(c.indices) for c in planned] == [
        list(c.indices) for c in plan_chunks(requests, small)
    ]


class UnboundedOpenAI(SmallOpenAI):
    def wire_size_bound(self, stored_bytes: int, custom_id_bytes: int) -> None:
        return None


def test_planning_stored_requests_measures_when_the_provider_gives_no_bound() -> None:
    provider = UnboundedOpenAI(ProviderSettings("openai", "key"))
    requests = [chat(n, text="x" * 4_000) for n in range(3)]

    planned = plan_stored([(n, _stored(r)) for n, r in requests], provider)

    assert [c.size_bytes for c in planned] == [
        c.size_bytes for c in plan_chunks(requests, provider)
    ]


def test_a_new_job_is_written_into_its_first_round_chunks(
    tmp_path: Path, batchgraph_sandbox: SandboxHandle
) -> None:
    source = tmp_path / "in.jsonl"
    models = ["gpt-4o-mini"] * 4 + ["gpt-4o"] + ["gpt-4o-mini"] * 3
    source.write_text(
        "".join(
            json.dumps({"id": f"q{n}", "prompt": f"hi {n}", "model": model}) + "\n"
            for n, model in enumerate(models)
        )
    )
    with SqliteStore(tmp_path / "jobs.db") as store:
        settings = ProviderSettings("openai", "key", batchgraph_sandbox.base_url("openai"))
        deps = Deps(store, tmp_path, lambda job: SmallOpenAI(settings))

        job_id = create_job(deps, input=source, provider="openai")

        chunks = store.list_chunks(job_id)
        members = [list(store.chunk_indices(job_id, c.chunk)) for c in chunks]
        counts = store.counts(job_id)
    assert [(c.chunk, c.model, c.size, c.attempt) for c in chunks] == [
        (0, "gpt-4o-mini", 3, 1),
        (1, "gpt-4o-mini", 3, 1),
        (2, "gpt-4o", 1, 1),
        (3, "gpt-4o-mini", 1, 1),
    ]
    assert all(c.status is ChunkStatus.PLANNED for c in chunks)
    assert members == [[0, 1, 2], [3, 5, 6], [4], [7]]
    assert counts[LedgerStatus.QUEUED] == 8 and counts[LedgerStatus.PENDING] == 0
