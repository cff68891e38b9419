"""`--estimate-sample N`: answer N requests drawn at random now, to learn how long answers are.

The only way to know a new job's answer length before sending it is to ask. The sample runs
on the provider's synchronous API (through the synchronous executor, at the synchronous price,
which the estimate shows), drawn uniformly over the whole input in one pass that holds only
the N drawn requests, and the same N for the same input (a fixed seed).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from batchgraph.io import ReadOptions, validated_requests
from batchgraph.model import Outcome, Request, Result, Usage
from batchgraph.pricing import total_cost
from batchgraph.providers import HostAddress, adapter_class, open_provider
from batchgraph.providers.base import Provider, WireItem
from batchgraph.report import priced_provider

SEED = 20261130


@dataclass(frozen=True, slots=True)
class Sample:
    """Output tokens per answer by model, from `answers` answered requests, and their cost."""

    per_answer: dict[str, float]
    answers: int
    sync_usd: float | None


class Reservoir:
    """`count` requests drawn uniformly from those `add`ed, in one pass, holding only them
    (reservoir sampling); the same ones for the same input (a fixed seed).

    Li's "Algorithm L": once full, it computes how many requests to skip before the next one
    it keeps, so a request it skips costs one comparison, not a random draw (an estimate
    of a million requests runs this a million times)."""

    def __init__(self, count: int, seed: int = SEED) -> None:
        self.count = count
        self.drawn: list[Request] = []
        self._seen = 0
        self._rng = random.Random(seed)
        self._weight = 1.0
        self._next = 0

    def add(self, request: Request) -> None:
        self._seen += 1
        if len(self.drawn) < self.count:
            self.drawn.append(request)
            if len(self.drawn) == self.count:
                self._skip()
        elif self._seen == self._next:
            self.drawn[self._rng.randrange(self.count)] = request
            self._skip()

    def _skip(self) -> None:
        self._weight *= math.exp(math.log(self._uniform()) / self.count)
        gap = (
            math.floor(math.log(self._uniform()) / math.log1p(-self._weight))
            if self._weight < 1
            else 0
        )
        self._next = self._seen + gap + 1

    def _uniform(self) -> float:
        return 1.0 - self._rng.random()  # in (0, 1]: its logarithm is defined


def draw(requests: Iterable[Request], count: int, seed: int = SEED) -> list[Request]:
    """`count` requests drawn uniformly from `requests` in one pass (`Reservoir`)."""
    reservoir = Reservoir(count, seed)
    for request in requests:
        reservoir.add(request)
    return reservoir.drawn


def run_sample(
    path: Path,
    provider: str,
    options: ReadOptions,
    count: int,
    data_dir: Path,
    address: HostAddress | None = None,
) -> Sample:
    """Answer `count` requests of the input now and measure their answers (`address`: the
    user's own server, for openai-compatible)."""
    check = adapter_class(provider).request_problem
    drawn = draw(validated_requests(path, options, check), count)
    adapter = open_provider(provider, sandbox_dir=data_dir / "sandbox", address=address)
    results = asyncio.run(_answer(adapter, drawn))
    tokens: dict[str, list[int]] = {}
    usages = []
    for request, result in zip(drawn, results, strict=True):
        if result.outcome is Outcome.SUCCEEDED:
            tokens.setdefault(request.model, []).append(result.usage.output_tokens)
            usages.append((priced_provider(provider), request.model, result.usage))
    per_answer = {model: sum(seen) / len(seen) for model, seen in tokens.items()}
    cost = total_cost(usages or [(priced_provider(provider), "none", Usage())])
    return Sample(per_answer, sum(len(seen) for seen in tokens.values()), cost.sync_usd)


async def _answer(provider: Provider, requests: list[Request]) -> list[Result]:
    from batchgraph.executors.sync import SyncSettings, execute

    found: dict[str, Result] = {}
    client = provider.sync_client()
    items = [WireItem(str(n), request) for n, request in enumerate(requests)]
    try:
        await execute(
            client,
            items,
            lambda results: found.update((r.custom_id, r) for r in results),
            SyncSettings(concurrency=8),
        )
    finally:
        await client.aclose()
    return [found[str(n)] for n in range(len(requests))]
