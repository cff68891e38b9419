"""What happens to one request, decided by hashing its custom_id (repeatable, provider-neutral).

The same custom_id under the same config meets the same fate on every provider and every run,
so one input gives the same ids and outcomes everywhere.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from batchgraph.sandbox.config import SandboxConfig


def unit(*parts: str) -> float:
    """A number in [0, 1) determined by `parts`."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


TAG_PREFIX = re.compile(r"^bg[A-Za-z0-9]+c\d+a\d+(~json)?-")
"""batchgraph's batch tag in front of a custom_id or key, where a batch carries no metadata
(Anthropic; Gemini, whose keys also mark answers wanted as JSON)."""


def fate_id(custom_id: str) -> str:
    """The id a request's fate is decided on: without a batchgraph tag in front, so the same
    request meets the same fate here as on the providers whose batches carry the tag in
    metadata, and `fail_ids` patterns such as `^3$` mean the same everywhere."""
    return TAG_PREFIX.sub("", custom_id, count=1)


@lru_cache(maxsize=64)
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


@dataclass(frozen=True, slots=True)
class Fates:
    """The per-request decisions for one batch's config."""

    config: SandboxConfig

    def fails(self, custom_id: str) -> bool:
        """Does this request end in an injected (server-side) error?"""
        regex = self.config.fail_ids
        if regex and _pattern(regex).search(custom_id):
            return True
        rate = self.config.failure_rate
        return rate > 0 and unit(self.config.seed, "fail", custom_id) < rate

    def straggles(self, custom_id: str) -> bool:
        """Does this request never finish (until its batch is cancelled or expires)?"""
        regex = self.config.straggle_ids
        if regex and _pattern(regex).search(custom_id):
            return True
        rate = self.config.straggle_rate
        return rate > 0 and unit(self.config.seed, "straggle", custom_id) < rate

    def finish_point(self, custom_id: str) -> float:
        """When, as a share of the running phase, this request finishes (never: infinity)."""
        if self.straggles(custom_id):
            return math.inf
        return unit(self.config.seed, "finish", custom_id)

    def finished(self, custom_id: str, done_share: float) -> bool:
        if self.straggles(custom_id):
            return False
        return done_share >= 1.0 or self.finish_point(custom_id) < done_share
