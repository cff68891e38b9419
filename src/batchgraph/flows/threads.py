"""One input's LangGraph thread in a flow: where it stands, and how to move it on.

A thread is read from its checkpoints, never from a record of our own, so a flow killed at
any moment finds every thread exactly where LangGraph saved it:

- no checkpoint yet: start it with its input;
- pending interrupts: waiting for model answers (resumed with all of them at once, by id);
- stopped part-way (killed mid-step): resume it with `None`, which keeps its pending writes;
- stopped on an error a node raised: failed, for good;
- no task left, finished or not: done.

"Nothing next" alone does not mean done: when a process dies after every task of a step has
saved its writes but before the step's checkpoint, LangGraph's snapshot lists no `next` (each
task has its writes) while `tasks` still holds them; the thread goes on from there with `None`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import Command, StateSnapshot

from batchgraph.langchain.chat_model import FLOW_KEY, REQUEST_KEY


class ThreadState(StrEnum):
    NEW = "new"
    WAITING = "waiting"
    STOPPED = "stopped"
    FAILED = "failed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Call:
    """A model call a thread is waiting for: its interrupt id and what it asks."""

    thread: int
    interrupt_id: str
    payload: dict[str, Any]

    @property
    def wire_id(self) -> str:
        return f"{self.thread}/{self.interrupt_id}"


def thread_config(flow_id: str, thread: int, defaults: Mapping[str, Any]) -> RunnableConfig:
    """The thread's LangGraph config; `defaults` (provider, model) reach the chat models."""
    return {
        "configurable": {"thread_id": f"flow-{flow_id}-{thread}", FLOW_KEY: dict(defaults)},
        "recursion_limit": 10_000,
    }


def state_of(snapshot: StateSnapshot) -> ThreadState:
    if not snapshot.values and not snapshot.next and snapshot.created_at is None:
        return ThreadState.NEW
    if snapshot.interrupts:
        return ThreadState.WAITING
    if not snapshot.next and not snapshot.tasks:
        return ThreadState.DONE
    if any(task.error is not None for task in snapshot.tasks):
        return ThreadState.FAILED
    return ThreadState.STOPPED


def calls_of(thread: int, snapshot: StateSnapshot) -> list[Call]:
    """The model calls a thread waits for (other interrupts are the user's own)."""
    return [
        Call(thread, interrupt.id, interrupt.value)
        for interrupt in snapshot.interrupts
        if isinstance(interrupt.value, dict) and REQUEST_KEY in interrupt.value
    ]


def failure_of(snapshot: StateSnapshot) -> str | None:
    for task in snapshot.tasks:
        if task.error is not None:
            return f"{type(task.error).__name__} in node {task.name!r}: {task.error}"
    return None


def advance(
    graph: Pregel[Any, Any, Any, Any],
    config: RunnableConfig,
    initial: Mapping[str, Any],
    answers: Mapping[str, Any],
    thread: int,
) -> StateSnapshot:
    """Move one thread on as far as it goes without new answers; return where it stopped.

    `answers` maps wire ids (`thread/interrupt id`) to the records to resume calls with. A
    thread is resumed only with answers for interrupts pending now, all in one map: a stale
    answer is never sent (it could answer the thread's next question). Each carries the hash
    of the request it answers, which the model checks against the request it asks now.
    """
    snapshot = graph.get_state(config)
    state = state_of(snapshot)
    try:
        if state is ThreadState.NEW:
            graph.invoke(dict(initial), config, durability="sync")
        elif state is ThreadState.STOPPED:
            graph.invoke(None, config, durability="sync")
        elif state is ThreadState.WAITING:
            resume = {
                call.interrupt_id: {
                    **answers[call.wire_id],
                    "request_hash": call.payload.get("request_hash"),
                }
                for call in calls_of(thread, snapshot)
                if call.wire_id in answers
            }
            if resume:
                graph.invoke(Command(resume=resume), config, durability="sync")
    except Exception:
        pass
    return graph.get_state(config)
