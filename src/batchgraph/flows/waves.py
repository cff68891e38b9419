"""A wave's calls written out as they are gathered, and its jobs' records read back by thread.

Threads are moved on in input order, and a wave's job lists its calls in that order too (by
thread, then interrupt id). So neither side needs all threads at once: the calls go to their
job's input file as each thread stops, and the answers of thread `n` are the next records of
each job, read in one forward pass. Memory stays flat in the number of threads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchgraph.flows.threads import Call
from batchgraph.langchain.chat_model import REQUEST_KEY
from batchgraph.langchain.jobs import InputWriter
from batchgraph.model import JSON
from batchgraph.store.base import Store


@dataclass(slots=True)
class WaveGroup:
    """The calls of a wave that go to one job: one provider (at one address) and one answer
    schema."""

    provider: str
    output_schema: dict[str, Any] | None
    writer: InputWriter
    calls: int = 0
    base_url: str | None = None
    api_key_env: str | None = None


@dataclass(slots=True)
class WaveWriter:
    """Writes a wave's calls to one input file per job as the threads stop on them."""

    data_dir: Path
    default_provider: str
    groups: dict[str, WaveGroup] = field(default_factory=dict)

    def add(self, calls: Iterable[Call]) -> None:
        """One thread's calls (threads must come in input order)."""
        for call in sorted(calls, key=lambda c: c.interrupt_id):
            key = group_key(call)
            group = self.groups.get(key)
            if group is None:
                group = WaveGroup(
                    provider=str(call.payload.get("provider") or self.default_provider),
                    output_schema=call.payload.get("output_schema"),
                    writer=InputWriter(self.data_dir),
                    base_url=call.payload.get("base_url"),
                    api_key_env=call.payload.get("api_key_env"),
                )
                self.groups[key] = group
            group.writer.write({**call.payload[REQUEST_KEY], "id": call.wire_id})
            group.calls += 1

    def close(self) -> list[tuple[WaveGroup, Path]]:
        """Each group with its named input file, in a fixed order (the jobs' order)."""
        return [(self.groups[key], self.groups[key].writer.close()) for key in sorted(self.groups)]

    def discard(self) -> None:
        for group in self.groups.values():
            group.writer.discard()


def group_key(call: Call) -> str:
    """Calls with one key go to one job. The address joins the key only when there is one, so
    the groups of a flow begun before addresses existed stay as they were."""
    payload = call.payload
    key = [payload.get("provider"), payload.get("output_schema")]
    if payload.get("base_url") or payload.get("api_key_env"):
        key += [payload.get("base_url"), payload.get("api_key_env")]
    return json.dumps(key, sort_keys=True)


class ThreadRecords:
    """The result records of some jobs, handed out thread by thread in input order.

    Each job lists its records by thread (as `WaveWriter` wrote them), so one forward pass
    over each job serves every thread; only the records of one thread are held at a time.
    """

    def __init__(self, store: Store, jobs: Iterable[str]) -> None:
        self._streams = [(job_id, _Peeking(store.result_records(job_id))) for job_id in jobs]

    def of(self, thread: int) -> list[tuple[str, dict[str, JSON]]]:
        """The records of `thread`, each with its job's id (threads are asked for in order:
        the records of a lower thread are gone by then)."""
        found: list[tuple[str, dict[str, JSON]]] = []
        for job_id, stream in self._streams:
            while (head := stream.peek()) is not None and thread_of(head) <= thread:
                if thread_of(head) == thread:
                    found.append((job_id, head))
                stream.advance()
        return found


def thread_of(record: dict[str, JSON]) -> int:
    """The thread a wave record belongs to, from its id (`thread/interrupt id`)."""
    return int(str(record["id"]).split("/", 1)[0])


class _Peeking:
    def __init__(self, records: Iterator[dict[str, JSON]]) -> None:
        self._records = records
        self._head: dict[str, JSON] | None = next(records, None)

    def peek(self) -> dict[str, JSON] | None:
        return self._head

    def advance(self) -> None:
        self._head = next(self._records, None)
