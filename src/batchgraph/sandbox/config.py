"""How a sandbox behaves: speed of its clock and the faults it injects.

One `SandboxConfig` is set per server (CLI options, `run_sandbox(config=…)`, or at run time with
`POST /_sandbox/config`). A single create call can override any field with a header
`x-sandbox-<field-with-dashes>: <value>` (e.g. `x-sandbox-failure-rate: 0.3`); the effective
config is stored with the batch, so its outcome never changes afterwards.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HEADER_PREFIX = "x-sandbox-"


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Server-wide behaviour; every fault is deterministic (seeded by ids and `seed`)."""

    time_scale: float = 1.0
    """Virtual seconds per real second: 86400 lets a 24 h window pass in one second."""
    processing_seconds: float = 4.0
    """Virtual time from creation to a finished batch (the first and last 10 % are the
    validating and finalizing phases); 0 finishes every batch at once."""
    failure_rate: float = 0.0
    """Fraction of requests that fail with the provider's own server error."""
    fail_ids: str | None = None
    """Requests whose custom_id matches this regex (`re.search`) fail."""
    expire_fraction: float | None = None
    """When set, processing is slowed so that only this fraction of the requests has finished
    when the completion window ends: the batch expires with that part done."""
    rate_limit_every: int = 0
    """Every n-th API call is answered 429 with `Retry-After` (0 = never)."""
    rate_limit_retry_after: float = 0.05
    """Seconds a 429 asks the client to wait (sent as `retry-after-ms` and `Retry-After`)."""
    server_error_rate: float = 0.0
    """Fraction of API calls answered with a transient 5xx before doing anything."""
    refuse_calls: str | None = None
    """API calls whose `METHOD /path` (the path after the provider's prefix, e.g.
    `POST /v1/batches`) matches this regex (`re.search`) are refused with `refuse_status`, up to
    `refuse_count` of them per server process: a rate limit or an outage aimed at one step."""
    refuse_count: int = 0
    """How many matching calls are refused (then they are served again)."""
    refuse_status: int = 503
    """The HTTP status of a refusal: 429 (sent with Retry-After), a 5xx, or any other code."""
    enqueued_token_limit: int = 0
    """OpenAI's enqueued-token limit per model (0 = none): a batch whose prompt tokens, added to
    those of the model's batches still running, would pass it is created and then `failed`
    with the error code `token_limit_exceeded`, as OpenAI does."""
    latency: float = 0.0
    """Real seconds added to every API call, before it is handled."""
    reply_latency: float = 0.0
    """Real seconds every answer is held back after the call was handled: a client that gives
    up waiting (or dies) has still created what it asked for."""
    straggle_rate: float = 0.0
    """Fraction of requests that never finish (by custom_id). A batch created while any
    straggle setting is on never ends by itself before its window: its other requests finish
    on schedule, so cancelling it collects them (deadline hedging is tested this way)."""
    straggle_ids: str | None = None
    """Requests whose custom_id matches this regex never finish (see `straggle_rate`)."""
    openrouter_per_minute: int = 0
    """OpenRouter personality: calls to `:free` models allowed per minute (0 = no limit)."""
    openrouter_per_day: int = 0
    """OpenRouter personality: calls to `:free` models allowed per day (0 = no limit)."""
    openrouter_minute: float = 60.0
    """Real seconds an OpenRouter "minute" lasts (scale the limits down for tests)."""
    openrouter_day: float = 86400.0
    """Real seconds an OpenRouter "day" lasts; windows are aligned to the Unix epoch."""
    local_json_schema: str = "follow"
    """Local-server personality: "follow" answers `response_format` json_schema as OpenAI
    does; "vllm" refuses it with a 400 in vLLM's error shape, "llamacpp" with llama.cpp's 500
    (as servers without structured output do); "ignore" answers in plain text as if no schema
    had been asked (as early Ollama did)."""
    seed: str = ""
    """Changes which requests fail and their answers, keeping runs repeatable."""
    enforce_limits: bool = True
    """Refuse batches over the provider's size caps (off for benchmarks of larger batches)."""

    @classmethod
    def instant(cls, **changes: Any) -> SandboxConfig:
        """Batches finish as soon as they are created (benchmarks, fast tests)."""
        return cls(processing_seconds=0.0, **changes)

    def replace(self, **changes: Any) -> SandboxConfig:
        """A copy with `changes` applied; values given as strings are converted."""
        return dataclasses.replace(self, **_coerce(changes))

    def with_headers(self, headers: Mapping[str, str]) -> SandboxConfig:
        """A copy with every `x-sandbox-…` header of one request applied."""
        changes = {
            key[len(HEADER_PREFIX) :].replace("-", "_"): value
            for key, value in headers.items()
            if key.lower().startswith(HEADER_PREFIX)
        }
        return self.replace(**changes) if changes else self

    def to_json(self) -> dict[str, Any]:
        return {f.name: _finite(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SandboxConfig:
        return cls().replace(**dict(data))

    @property
    def straggles(self) -> bool:
        """Batches created under this config never end by themselves (see `straggle_rate`)."""
        return self.straggle_rate > 0 or bool(self.straggle_ids)

    @property
    def instant_processing(self) -> bool:
        return self.processing_seconds <= 0 or math.isinf(self.time_scale)


_TRUE = {"1", "true", "yes", "on"}
_FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(SandboxConfig)}


def _coerce(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Convert strings (from headers, CLI or JSON) to each field's type; refuse unknown names."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in _FIELD_TYPES:
            known = ", ".join(sorted(_FIELD_TYPES))
            raise ValueError(f"unknown sandbox setting {name!r}; known settings: {known}")
        kind = str(_FIELD_TYPES[name])
        if isinstance(value, str) and name == "time_scale" and value == "instant":
            out["time_scale"] = math.inf
        elif value is None or (value == "" and "None" in kind):
            out[name] = None
        elif kind == "bool":
            out[name] = value if isinstance(value, bool) else str(value).lower() in _TRUE
        elif kind.startswith("float"):
            out[name] = float(value)
        elif kind.startswith("int"):
            out[name] = int(value)
        else:
            out[name] = str(value)
    return out


def _finite(value: Any) -> Any:
    """JSON has no infinity: an instant clock is written as the string "instant"."""
    if isinstance(value, float) and math.isinf(value):
        return "instant"
    return value
