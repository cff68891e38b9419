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

POLL_SECONDS = 60.0
"""The longest pause between checks of a running job (`run --poll-max`'s default): the
default hedge margin is at least this, so a check falls between the hedge and the deadline."""

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

    def margin(self) -> float | None:
        """Seconds before the deadline at which the hedge begins: `hedge_margin`, or a tenth
        of the time left at submission, at least one poll (`POLL_SECONDS`) but no more than
        half the time left. None without a deadline."""
        if self.deadline is None:
            return None
        if self.hedge_margin is not None:
            return self.hedge_margin
        since = time.time() if self.submitted_at is None else self.submitted_at
        left = self.deadline - since
        return max(left / 10, min(POLL_SECONDS, left / 2))

    def hedge_at(self) -> float | None:
        """When running batches give way to synchronous calls (Unix time), or None."""
        margin = self.margin()
        return None if self.deadline is None or margin is None else self.deadline - margin

    def cancel_wait_until(self) -> float | None:
        """How long a hedge waits for a cancelled batch to end, so that what it finished is
        collected (Unix time): half the margin. After that its unanswered requests go to the
        synchronous API anyway, and whatever the batch reports later is ignored."""
        margin = self.margin()
        return None if self.deadline is None or margin is None else self.deadline - margin / 2

    def hedge_due(self, now: float) -> bool:
        """Whether running batches should give way to synchronous calls at `now`."""
        hedge_at = self.hedge_at()
        return hedge_at is not None and not self.sync and now >= hedge_at

    def wake_at(self, now: float) -> float | None:
        """The next moment after `now` at which the hedge has something to do (its start,
        the end of its wait for cancelled batches), or None: a runner sleeps no longer."""
        moments = (self.hedge_at(), self.cancel_wait_until())
        return min((m for m in moments if m is not None and m > now), default=None)

    def chunk_mode(self, now: float) -> tuple[ChunkMode, str | None]:
        """How a chunk planned at `now` runs, and on which host (None: the job's provider):
        synchronously in a synchronous job, and from the hedge time on."""
        if self.sync:
            return ChunkMode.SYNC, None
        if self.hedge_due(now):
            return ChunkMode.SYNC, self.hedge_provider
        return ChunkMode.BATCH, None

    @classmethod
    def by_deadline(
        cls,
        deadline: str | float | datetime,
        *,
        margin: str | float | None = None,
        hedge_provider: str | None = None,
        now: float | None = None,
    ) -> Execution:
        """A batch job that must finish by `deadline` (a duration like `2h`, an ISO time, a
        datetime or a Unix time), hedged `margin` before it (`10m`, or seconds) on
        `hedge_provider` (default: the job's own). The Python form of `--deadline`,
        `--hedge-margin` and `--hedge-provider`; `create_job` checks them against the clock."""
        if isinstance(deadline, datetime):
            moment = deadline.timestamp()
        elif isinstance(deadline, str):
            moment = parse_deadline(deadline, now)
        else:
            moment = float(deadline)
        if isinstance(margin, str):
            margin = parse_duration(margin, "--hedge-margin")
        return cls(deadline=moment, hedge_margin=margin, hedge_provider=hedge_provider)

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
            f"--deadline {text!r} is neither a duration (2h, 90m, 45s) nor a time "
            "(2026-12-01T09:00); write one of those"
        ) from None
    return moment.timestamp()


def parse_duration(text: str, option: str) -> float:
    """`30m`, `90s`, `1h` (or plain seconds) as seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"{option} {text!r} is not a duration; write e.g. 10m, 90s or 1h")
    return float(match[1]) * _UNIT_SECONDS[match[2]]
