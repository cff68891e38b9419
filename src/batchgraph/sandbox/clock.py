"""Where a batch stands is a pure function of the clock and what was stored at creation.

Nothing advances batches in the background: every read computes the phase from the real time,
the batch's creation time and its stored `Timeline`. So a restarted server, or another process on
the same data directory, finds each batch exactly where the clock says it is.

Virtual time runs `time_scale` times faster than real time from the batch's creation. Reported
timestamps are virtual (creation + virtual offset), so `expires_at - created_at` is the real
window even when it passes in a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from batchgraph.sandbox.config import SandboxConfig

VALIDATING_SHARE = 0.1
FINALIZING_SHARE = 0.1
CANCEL_DELAY_SHARE = 0.05
"""Cancelling takes this share of the processing time before the batch is cancelled."""


class Phase(StrEnum):
    """The provider-neutral phases; each provider module names them its own way."""

    VALIDATING = "validating"
    RUNNING = "running"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (Phase.COMPLETED, Phase.EXPIRED, Phase.CANCELLED)


@dataclass(frozen=True, slots=True)
class Timeline:
    """One batch's schedule in virtual seconds after `created` (a real Unix time)."""

    created: float
    time_scale: float
    validating: float
    running: float
    finalizing: float
    window: float
    cancel_delay: float
    straggles: bool = False
    """Some requests never finish, so the batch runs until its window ends (then expires)."""

    @classmethod
    def plan(cls, config: SandboxConfig, created: float, window: float) -> Timeline:
        """The schedule for a batch created now under `config` with a `window` (virtual s)."""
        total = 0.0 if config.instant_processing else config.processing_seconds
        validating = total * VALIDATING_SHARE
        running = total * (1 - VALIDATING_SHARE - FINALIZING_SHARE)
        if config.expire_fraction is not None:
            fraction = config.expire_fraction
            running = (window - validating) / fraction if fraction > 0 else math.inf
        return cls(
            created=created,
            time_scale=config.time_scale,
            validating=validating,
            running=running,
            finalizing=total * FINALIZING_SHARE,
            window=window,
            cancel_delay=total * CANCEL_DELAY_SHARE,
            straggles=config.straggles,
        )

    def elapsed(self, now: float) -> float:
        """Virtual seconds since creation."""
        real = max(0.0, now - self.created)
        if math.isinf(self.time_scale):
            return math.inf if real > 0 else 0.0
        return real * self.time_scale

    @property
    def run_end(self) -> float:
        return self.validating + self.running

    @property
    def expires(self) -> bool:
        """The window ends before every request has run."""
        return self.straggles or self.run_end > self.window

    @property
    def natural_end(self) -> float:
        """When the batch becomes terminal without a cancel."""
        return self.window if self.expires else self.run_end + self.finalizing

    def cutoff(self, offset: float) -> float:
        """The share of requests finished at virtual `offset` (see `fate.finish_point`)."""
        if self.running <= 0 or math.isinf(offset):
            return 1.0 if offset >= self.validating else 0.0
        return min(1.0, max(0.0, (offset - self.validating) / self.running))

    def to_json(self) -> dict[str, Any]:
        return {k: _dump(getattr(self, k)) for k in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Timeline:
        values: dict[str, Any] = {k: _load(v) for k, v in data.items() if k != "straggles"}
        return cls(**values, straggles=bool(data.get("straggles", False)))


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a batch is at one moment."""

    phase: Phase
    done_share: float
    """Share of the requests finished so far (the final share once terminal)."""
    events: dict[Phase, float]
    """Virtual offset at which each phase reached so far began."""

    def at(self, phase: Phase) -> float | None:
        return self.events.get(phase)


def progress(timeline: Timeline, now: float, cancel_requested: float | None = None) -> Progress:
    """The phase at real time `now`; `cancel_requested` is the real time of a cancel call."""
    t = timeline.elapsed(now)
    end = timeline.natural_end
    cancel = timeline.elapsed(cancel_requested) if cancel_requested is not None else None
    if cancel is not None and cancel < end:
        return _cancelled_progress(timeline, t, cancel)
    events = {Phase.VALIDATING: 0.0}
    if t >= timeline.validating:
        events[Phase.RUNNING] = timeline.validating
    if timeline.expires:
        if t >= timeline.window:
            events[Phase.EXPIRED] = timeline.window
            return Progress(Phase.EXPIRED, timeline.cutoff(timeline.window), events)
    else:
        if t >= timeline.run_end:
            events[Phase.FINALIZING] = timeline.run_end
        if t >= end:
            events[Phase.COMPLETED] = end
            return Progress(Phase.COMPLETED, 1.0, events)
    phase = list(events)[-1]  # phases are added in the order they begin
    return Progress(phase, timeline.cutoff(t), events)


def _cancelled_progress(timeline: Timeline, t: float, cancel: float) -> Progress:
    events = {Phase.VALIDATING: 0.0}
    if cancel >= timeline.validating:
        events[Phase.RUNNING] = timeline.validating
    events[Phase.CANCELLING] = cancel
    share = timeline.cutoff(cancel)
    if t >= cancel + timeline.cancel_delay:
        events[Phase.CANCELLED] = cancel + timeline.cancel_delay
        return Progress(Phase.CANCELLED, share, events)
    return Progress(Phase.CANCELLING, share, events)


def _dump(value: float | bool) -> float | bool | str:
    if isinstance(value, bool):
        return value
    return "inf" if math.isinf(value) else value


def _load(value: float | str) -> float:
    return float(value)
