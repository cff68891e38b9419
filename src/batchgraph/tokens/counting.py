"""A job's input tokens as its provider will count them, for the estimate.

What a provider bills is not the prompt's text alone: the adapter adds a schema's tool
(Anthropic's forced tool and the tool-use system prompt that comes with it), a
`response_format`, the system prompt; the provider adds tokens per message. So each request
is counted from the body the adapter builds for it (`Provider.wire_body`), with the provider's
tokenizer where one is available offline (`tokenizers`), or by the provider's own counting
endpoint where it has one and a key is set (Anthropic's `count_tokens`), plus what the
provider adds around the text (`Provider.prompt_overhead`).

Tokenizing a million requests would make the estimate slow, so `COUNT_SAMPLE` requests drawn
over the whole input are counted exactly (`ENDPOINT_SAMPLE` through an endpoint, one call
each), and each model's count is the fast characters-a-token measure of all its requests
scaled by what the sample showed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from batchgraph.errors import BatchgraphError
from batchgraph.io import InputSummary, estimate_input_tokens
from batchgraph.model import JSON, Request
from batchgraph.providers import adapter_class, open_provider
from batchgraph.providers.base import Provider
from batchgraph.providers.registry import split_name
from batchgraph.tokens.tokenizers import APPROXIMATION, INSTALL_HINT, text_counter

COUNT_SAMPLE = 200
"""Requests counted exactly with an offline tokenizer (a few milliseconds)."""
ENDPOINT_SAMPLE = 20
"""Requests counted by a provider's endpoint (one free call each)."""


@dataclass(frozen=True, slots=True)
class InputCount:
    """Input tokens by model, and how they were counted (for people)."""

    tokens: dict[str, int]
    method: str


def count_input(
    adapter: type[Provider],
    summary: InputSummary,
    drawn: Sequence[Request],
    endpoint: Provider | None = None,
) -> InputCount:
    """Input tokens of every model in `summary`, from `drawn` requests counted exactly.

    `endpoint` is an open adapter whose `count_tokens` counts `ENDPOINT_SAMPLE` of them; when
    it cannot, the offline count is used and the method says why.
    """
    exact: list[int] | None = None
    note = ""
    if endpoint is not None and drawn:
        sample = list(drawn[:ENDPOINT_SAMPLE])
        try:
            exact = _endpoint_counts(adapter, endpoint, sample)
        except BatchgraphError as err:
            note = f" ({adapter.spec.title}'s token count failed: {err})"
        if exact is not None:
            drawn = sample
            method = f"{adapter.spec.title}'s token count"
    if exact is None:
        counters = {text_counter(adapter.tokenizer(r.model)) for r in drawn} or {APPROXIMATION}
        exact = [request_tokens(adapter, request) for request in drawn]
        method = ", ".join(sorted(counter.name for counter in counters)) + note
        if not all(counter.exact for counter in counters) and any(
            adapter.tokenizer(r.model) for r in drawn
        ):
            method += f" ({INSTALL_HINT} to count with the provider's tokenizer)"
    if len(drawn) < summary.count:
        method += f", {len(drawn):,} of {summary.count:,} requests counted"
    return InputCount(_scaled(summary, drawn, exact), method)


def request_tokens(adapter: type[Provider], request: Request) -> int:
    """Input tokens of one request as `adapter`'s provider counts them (offline)."""
    body = adapter.wire_body(request)
    if body is None:
        return estimate_input_tokens(request)
    count = text_counter(adapter.tokenizer(request.model)).count
    return sum(count(text) for text in body_texts(body)) + adapter.prompt_overhead(body)


def body_texts(body: dict[str, JSON]) -> Iterator[str]:
    """What of a request body the model reads: system prompt, messages, tool definitions, a
    JSON schema, embedding or Responses input (each provider's shape of them)."""
    for key in ("system", "instructions", "input"):
        if body.get(key):
            yield _text(body[key])
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            yield _text(message.get("content"))
    if body.get("tools"):
        yield json.dumps(body["tools"], separators=(",", ":"), sort_keys=True)
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        yield json.dumps(response_format.get("json_schema"), separators=(",", ":"), sort_keys=True)


def token_endpoint(provider: str, data_dir: Path | None) -> Provider | None:
    """An adapter to count tokens with, when the provider counts them and a key is set (or
    the provider is the sandbox, given the data directory its state lives in); else None."""
    if not adapter_class(provider).counts_tokens:
        return None
    if split_name(provider)[1] and data_dir is None:
        return None
    try:
        return open_provider(provider, sandbox_dir=data_dir / "sandbox" if data_dir else None)
    except BatchgraphError:  # no key: the offline count stands
        return None


def _endpoint_counts(
    adapter: type[Provider], endpoint: Provider, sample: list[Request]
) -> list[int] | None:
    bodies = [adapter.wire_body(request) for request in sample]
    if any(body is None for body in bodies):
        return None
    return endpoint.count_tokens([body for body in bodies if body is not None])


def _scaled(summary: InputSummary, drawn: Sequence[Request], exact: list[int]) -> dict[str, int]:
    """Each model's input tokens, from its fast measure (`ModelTally`: characters a token,
    summed over every request) and how the exact counts of its drawn requests follow that
    measure: `exact ≈ slope × measure + added`, where the slope is the tokenizer's density
    and `added` what every request carries besides its text (tool, schema, per-message
    tokens). A model the sample missed takes the fit of the whole sample."""
    points: dict[str, list[tuple[int, int]]] = {}
    for request, tokens in zip(drawn, exact, strict=True):
        points.setdefault(request.model, []).append((estimate_input_tokens(request), tokens))
    overall = _fit([point for model in points.values() for point in model])
    tokens_by_model = {}
    for model, tally in summary.models.items():
        slope, added = _fit(points[model]) if model in points else overall
        tokens_by_model[model] = max(0, round(slope * tally.input_tokens + added * tally.requests))
    return tokens_by_model


def _fit(points: list[tuple[int, int]]) -> tuple[float, float]:
    """Least squares `exact = slope × measure + added`; with too few or too alike points
    to tell a slope (a template over texts of one length), the measure plus a constant."""
    if not points:
        return 1.0, 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if n < 3 or spread == 0:
        return 1.0, mean_y - mean_x
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    if not 0.25 <= slope <= 4:  # noise, not a tokenizer: keep to the additive fit
        return 1.0, mean_y - mean_x
    return slope, mean_y - slope * mean_x


def _text(content: JSON) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_part_text(part) for part in content)
    return "" if content is None else json.dumps(content, sort_keys=True)


def _part_text(part: JSON) -> str:
    """A content block's text (`{"type": "text", "text": …}`), or a Responses input item's
    content (`{"role": …, "content": …}`)."""
    if isinstance(part, dict):
        return _text(part["text"] if "text" in part else part.get("content"))
    return _text(part)
