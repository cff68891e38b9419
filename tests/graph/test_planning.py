"""Chunks stay under each provider's caps and never mix models or endpoints."""

from __future__ import annotations

from batchgraph.graph.planning import plan_chunks
from batchgraph.model import Kind, Request
from batchgraph.providers.base import Caps
from batchgraph.providers.openai import OpenAIProvider
from batchgraph.providers.settings import ProviderSettings


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
