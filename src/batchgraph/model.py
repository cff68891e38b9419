"""The provider-neutral request and result types.

Every reader produces `Request`s and every provider adapter turns its own result lines into
`Result`s, so the rest of batchgraph never sees a provider's wire format.

Treat them as values and never change one. They are not frozen dataclasses only because
building a frozen one takes three times as long, and a job builds one per request, several
times over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JSON = Any
"""A value that came from or goes to JSON."""


class Kind(StrEnum):
    """What a request asks for: a chat answer, an embedding, or an answer from OpenAI's
    Responses API (`/v1/responses`, whose body has its own vocabulary)."""

    CHAT = "chat"
    EMBEDDING = "embedding"
    RESPONSE = "response"


_KINDS: dict[JSON, Kind] = {kind.value: kind for kind in Kind}


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """A JSON schema the answer must follow (structured output)."""

    name: str
    schema: dict[str, JSON]


@dataclass(slots=True)
class Request:
    """One unit of work, fully resolved (job defaults already applied).

    `id` is the user's own id; `line` is where it came from (1-based line or row number), so that
    every message about it can point at the input.

    `messages` are chat messages in OpenAI's chat-completions shape (the common vocabulary:
    content as a string or a list of text and image parts, assistant `tool_calls`, `tool`
    results). `params` holds every other option, under its chat-completions name (`top_p`,
    `tools`, `reasoning_effort`, …, and `extra` for one provider's own fields), exactly as
    given: each provider's wire module passes it through or translates it (see
    docs/request-fields.md). `native` names the provider whose own request format `messages`
    and `params` are written in ("anthropic", "mistral"), for a line taken from that
    provider's batch file; such a request runs on that provider only.
    """

    id: str
    line: int
    model: str
    kind: Kind = Kind.CHAT
    messages: tuple[dict[str, JSON], ...] = ()
    system: str | None = None
    input: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    output_schema: OutputSchema | None = None
    native: str | None = None
    params: dict[str, JSON] | None = None

    def to_json(self) -> dict[str, JSON]:
        """A compact JSON form, for the store."""
        out: dict[str, JSON] = {"id": self.id, "line": self.line, "model": self.model}
        if self.kind is not Kind.CHAT:
            out["kind"] = self.kind.value
        if self.messages:
            out["messages"] = list(self.messages)
        for key in ("system", "input", "max_tokens", "temperature"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.output_schema is not None:
            out["output_schema"] = {
                "name": self.output_schema.name,
                "schema": self.output_schema.schema,
            }
        if self.native is not None:
            out["native"] = self.native
        if self.params:
            out["params"] = self.params
        return out

    @classmethod
    def from_json(cls, data: dict[str, JSON]) -> Request:
        get = data.get
        schema = get("output_schema")
        kind = get("kind", "chat")
        # Positional, in field order, with the kind looked up: read once per stored request.
        return cls(
            data["id"],
            data["line"],
            data["model"],
            _KINDS.get(kind) or Kind(kind),
            tuple(get("messages", ())),
            get("system"),
            get("input"),
            get("max_tokens"),
            get("temperature"),
            OutputSchema(schema["name"], schema["schema"]) if schema else None,
            get("native"),
            get("params"),
        )


class Outcome(StrEnum):
    """How one request ended at the provider."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    MISSING = "missing"
    """The provider's results never mentioned the request."""


_WHY = {
    "failed": "failed",
    "expired": "expired: its batch's completion window ended before it ran",
    "cancelled": "cancelled",
    "missing": "missing: its batch ended without a result for it",
}


def outcome_reason(status: str, attempts: int, batch_id: str | None) -> str | None:
    """Why a request that ended without the provider's own error did not succeed, for its
    results record: what happened, after how many sends, in which batch; None for a request
    that succeeded or has not ended."""
    what = _WHY.get(status)
    if what is None:
        return None
    if batch_id is None:
        return f"{what} (never sent)"
    return (
        f"{what} (after {attempts} attempt{'s' if attempts != 1 else ''}, last in batch {batch_id})"
    )


@dataclass(slots=True)
class Usage:
    """Tokens a request consumed; cached tokens (read from the provider's prompt cache) and
    cache writes (put into it) are both part of `input_tokens`."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    """Part of `output_tokens`: what the model spent thinking (where the provider says)."""
    cache_write_tokens: int = 0
    """Part of `input_tokens`: written to the prompt cache, which Anthropic charges at 1.25×
    the input price."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass(slots=True)
class ProviderError:
    """A provider's error for one request, with its original body kept in `raw`."""

    code: str
    message: str
    raw: JSON = None
    retryable: bool = False
    """True when sending the request again may succeed (server error, rate limit, overload)."""


@dataclass(slots=True)
class Result:
    """One request's result, the same shape for every provider.

    `custom_id` is the id the request carried in the batch (see `providers.base.WireItem`).
    """

    custom_id: str
    outcome: Outcome
    batch_id: str
    text: str | None = None
    parsed: JSON = None
    embedding: list[float] | None = None
    stop_reason: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    error: ProviderError | None = None
    tag: str | None = None
    """The batch tag label the line carried (Anthropic: its custom_id prefix; OpenAI and
    Mistral: the batch's metadata), so the collector can refuse lines that are not its own."""
    tool_calls: list[JSON] | None = None
    """Tools the model called, in the chat-completions shape (`id`, `function.name`,
    `function.arguments` as JSON text), whatever the provider."""
    refusal: str | None = None
    """The model's refusal to answer, where the provider reports one apart from the text."""
    logprobs: JSON = None
    """Log probabilities, when the request asked for them (as the provider gave them)."""
