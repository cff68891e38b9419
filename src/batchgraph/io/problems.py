"""Collecting problems while reading an input, without holding one per bad line.

A file with a million bad lines must not need a million messages in memory: the log keeps the
first `limit` problems by line number and only counts the rest. Lines with the same problem and
fix are told once, with their count: a missing `--model` on a 500-line file is one message.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field, replace

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


NAMED_LINES = 5
"""How many line numbers a problem that many lines share names before it only counts them."""


@dataclass(slots=True)
class _Shared:
    count: int
    lines: list[int]


@dataclass(slots=True)
class ProblemLog:
    """Keeps the `limit` problems with the lowest line numbers and counts all of them.

    A problem whose text and fix are already kept adds to that one's count (and names its line,
    up to `NAMED_LINES`) instead of taking a place of its own. `lines` is the number of lines
    read, set by the reader, so that a problem every line has can say so.
    """

    limit: int = DEFAULT_LIMIT
    total: int = 0
    lines: int = 0
    _heap: list[tuple[int, int, InputProblem]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _shared: dict[tuple[str, str], _Shared] = field(default_factory=dict)
    """The lines of each kept problem (only kept ones: at most `limit` entries)."""

    def add(self, problem: InputProblem) -> None:
        self.total += 1
        key = (problem.problem, problem.fix)
        shared = self._shared.get(key)
        if shared is not None:
            shared.count += 1
            if len(shared.lines) < NAMED_LINES:
                shared.lines.append(problem.line)
            return
        # A max-heap on line number (negated), so the latest line is dropped first.
        item = (-problem.line, -next(self._order), problem)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            _, _, dropped = heapq.heapreplace(self._heap, item)
            del self._shared[(dropped.problem, dropped.fix)]
        else:
            return
        self._shared[key] = _Shared(1, [problem.line])

    def __bool__(self) -> bool:
        return self.total > 0

    def listed(self) -> list[InputProblem]:
        """The kept problems, by line number, each with the lines that share it."""
        listed = []
        for _, _, problem in sorted(self._heap, reverse=True):
            shared = self._shared[(problem.problem, problem.fix)]
            if shared.count > 1:
                first, *also = sorted(shared.lines)
                every = shared.count == self.lines == self.total
                problem = replace(
                    problem, line=first, count=shared.count, also=tuple(also), every=every
                )
            listed.append(problem)
        return listed

    def error(self, source: str) -> InputError:
        listed = self.listed()
        return InputError(source, listed, more=self.total - sum(p.count for p in listed))
