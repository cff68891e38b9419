"""How a job's requests are executed, as chosen at submit: by batch or synchronously, how hard
to press a synchronous host, and a deadline with its hedge. Stored in the job's spec (no
secrets), read back by the graph's nodes."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from batchgraph.errors import ConfigError
from batchgraph.executors.limits import Rate
from batchgraph.executors.sync import SyncSettings
from batchgraph.providers.sync_api import HostPace
from batchgraph.store.base import ChunkMode

SYNC_CHUNK_SIZE = 1000
"""Requests per chunk of a synchronous job: the unit its progress and tokens are kept in."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


@dataclass(frozen=True, slots=True)
class Execution:
    """A job's execution choices. Rates are per minute, as hosts state them."""

    mode: ChunkMode = ChunkMode.BATCH
    concurrency: int | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    rate_window: float = 60.0
    """Seconds a "minute" of the rates lasts (only tests shorten it, against a scaled host)."""
    deadline: float | None = None
    """Unix time by which every request should have its result (batch jobs)."""
    hedge_margin: float | None = None
    """Seconds before the deadline at which running batches are cancelled and the rest is
    sent synchronously; default a tenth of the time left at submission (see `hedge_at`)."""
    hedge_provider: str | None = None
    """Where the hedge runs; default the job's own provider."""
    submitted_at: float | None = None

    @property
    def sync(self) -> bool:
        return self.mode is ChunkMode.SYNC

    def sync_settings(self, pace: HostPace | None = None) -> SyncSettings:
        """The executor's settings: the job's choices over the host's pace."""
        pace = pace or HostPace()
        rpm = self.requests_per_minute or pace.requests_per_minute
        tpm = self.tokens_per_minute or pace.tokens_per_minute
        return SyncSettings(
            concurrency=self.concurrency or pace.concurrency,
            requests=Rate(rpm, self.rate_window) if rpm else None,
            tokens=Rate(tpm, self.rate_window) if tpm else None,
        )

    def hedge_at(self, poll_interval: float) -> float | None:
        """When running batches give way to synchronous calls (Unix time), or None."""
        if self.deadline is None:
            return None
        margin = self.hedge_margin
        if margin is None:
            left = self.deadline - (self.submitted_at or time.time())
            margin = max(left / 10, poll_interval)
        return self.deadline - margin

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["mode"] = self.mode.value
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Execution:
        data = dict(spec.get("execution") or {})
        data["mode"] = ChunkMode(data.get("mode", ChunkMode.BATCH.value))
        return cls(**data)


def parse_deadline(text: str, now: float | None = None) -> float:
    """`2h`, `90m`, `45s`, `1.5d` from now, or an ISO 8601 time (`2026-12-01T09:00`, local
    time unless it names a zone); returns Unix time."""
    now = time.time() if now is None else now
    match = _DURATION.match(text)
    if match:
        return now + float(match[1]) * _UNIT_SECONDS[match[2]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"deadline {text!r} is neither a duration (2h, 90m, 45s) nor a time "
            "(2026-12-01T09:00); write one of those"
        ) from None
    return moment.timestamp()


def parse_duration(text: str, option: str) -> float:
    """`30m`, `90s`, `1h` (or plain seconds) as seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"{option} {text!r} is not a duration; write e.g. 10m, 90s or 1h")
    return float(match[1]) * _UNIT_SECONDS[match[2]]
