"""Writing result files in one pass, in an order that differs from the input (as real providers
do), without holding more than a small block of lines in memory."""

from __future__ import annotations

import random
from types import TracebackType
from typing import IO

BLOCK = 64


class ShuffledLines:
    """Buffers up to `BLOCK` lines and writes each block in a seeded random order."""

    def __init__(self, out: IO[bytes], seed: str) -> None:
        self.out = out
        self.rng = random.Random(seed)
        self.block: list[bytes] = []
        self.count = 0

    def write(self, line: bytes) -> None:
        """Add one JSONL line (without its newline)."""
        self.block.append(line)
        self.count += 1
        if len(self.block) >= BLOCK:
            self.flush()

    def flush(self) -> None:
        self.rng.shuffle(self.block)
        if self.block:
            self.out.write(b"\n".join(self.block) + b"\n")
        self.block.clear()

    def __enter__(self) -> ShuffledLines:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.flush()
