"""Collecting problems while reading an input, without holding one per bad line.

A file with a million bad lines must not need a million messages in memory: the log keeps the
first `limit` problems by line number and only counts the rest.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from batchgraph.errors import InputError, InputProblem
from batchgraph.model import Request

DEFAULT_LIMIT = 20


@dataclass(slots=True)
class Entry:
    """One line (or table row) of an input: its request, or why it cannot become one.

    `id` is set whenever the line has a usable id, even if other parts are wrong, so that
    duplicate ids are still found on lines with other problems. Not frozen, though nothing
    changes an entry: one is made per line, and a frozen dataclass is four times as slow to make.
    """

    line: int
    id: str | None
    request: Request | None
    problems: tuple[InputProblem, ...] = ()


class Issues(list[tuple[str, str]]):
    """The problems of one line as (problem, fix) pairs, gathered while it is converted.

    A list itself, so that asking whether a line has any (several times a line) costs no call.
    """

    __slots__ = ("line",)

    def __init__(self, line: int) -> None:
        self.line = line  # and empty, as `list.__new__` made it: no `list.__init__` needed

    def add(self, problem: str, fix: str) -> None:
        self.append((problem, fix))

    def merged(self) -> tuple[InputProblem, ...]:
        """One `InputProblem` for the line, so that counts are counts of bad lines."""
        if not self:
            return ()
        problems = "; ".join(problem for problem, _ in self)
        fixes = "; ".join(dict.fromkeys(fix for _, fix in self))
        return (InputProblem(self.line, problems, fixes),)


@dataclass(slots=True)
class ProblemLog:
    """Keeps the `limit` problems with the lowest line numbers and counts all of them."""

    limit: int = DEFAULT_LIMIT
    total: int = 0
    _heap: list[tuple[int, int, InputProblem]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, problem: InputProblem) -> None:
        self.total += 1
        # A max-heap on line number (negated), so the latest line is dropped first.
        item = (-problem.line, -next(self._order), problem)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def __bool__(self) -> bool:
        return self.total > 0

    def listed(self) -> list[InputProblem]:
        """The kept problems, by line number."""
        return [problem for _, _, problem in sorted(self._heap, reverse=True)]

    def error(self, source: str) -> InputError:
        listed = self.listed()
        return InputError(source, listed, more=self.total - len(listed))
