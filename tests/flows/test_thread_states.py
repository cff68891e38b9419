"""Where a thread stands after its process died between a step's writes and its checkpoint.

LangGraph saves each finished task's writes as it ends, and the step's checkpoint after all of
them. A SIGKILL between the two leaves a snapshot with no `next` (every task has its writes)
that is not finished. A real SQLite saver is stopped at exactly that moment, for every step of
a three-step graph, and the thread must read as stopped, then end with the state an
uninterrupted run gives.
"""

from __future__ import annotations

import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any, TypedDict, cast

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from batchgraph.flows.threads import ThreadState, advance, state_of
from batchgraph.graph.tick import JobGraph, choose_input, thread_config


class Steps(TypedDict, total=False):
    review: str
    log: Annotated[list[str], operator.add]


class Killed(BaseException):
    """Stands for SIGKILL: no `except Exception` in the way catches it."""


class DiesBeforeCheckpoint(SqliteSaver):
    """A SQLite saver whose process 'dies' just before saving the checkpoint of one step."""

    die_at: int | None = None

    def put(self, config: RunnableConfig, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if metadata.get("step") == self.die_at:
            raise Killed
        return super().put(config, checkpoint, metadata, new_versions)


def three_steps() -> StateGraph[Steps]:
    builder = StateGraph(Steps)
    for name in ("extract", "classify", "summarise"):
        builder.add_node(name, lambda state, name=name: {"log": [name]})
    builder.add_edge(START, "extract")
    builder.add_edge("extract", "classify")
    builder.add_edge("classify", "summarise")
    builder.add_edge("summarise", END)
    return builder


def saver(path: Path) -> DiesBeforeCheckpoint:
    found = DiesBeforeCheckpoint(sqlite3.connect(path, check_same_thread=False))
    found.setup()
    return found


FINISHED = {"review": "Mug chips.", "log": ["extract", "classify", "summarise"]}


@pytest.mark.parametrize("step", [0, 1, 2, 3])
def test_a_thread_killed_before_its_steps_checkpoint_is_stopped_not_done(
    tmp_path: Path, step: int
) -> None:
    checkpointer = saver(tmp_path / "threads.db")
    graph = three_steps().compile(checkpointer=checkpointer)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}

    checkpointer.die_at = step
    with pytest.raises(Killed):
        graph.invoke({"review": "Mug chips."}, config, durability="sync")
    checkpointer.die_at = None

    assert graph.get_state(config).next == ()  # what used to read as finished
    assert state_of(graph.get_state(config)) is ThreadState.STOPPED
    final = advance(graph, config, {"review": "Mug chips."}, {}, thread=0)
    assert state_of(final) is ThreadState.DONE
    assert final.values == FINISHED


@pytest.mark.parametrize("step", [0, 1, 2, 3])
def test_a_job_thread_killed_before_its_steps_checkpoint_resumes_with_none(
    tmp_path: Path, step: int
) -> None:
    """New input (`{}`) would throw the finished tasks' writes away and run them again."""
    checkpointer = saver(tmp_path / "jobs.db")
    graph = cast(JobGraph, three_steps().compile(checkpointer=checkpointer))
    checkpointer.die_at = step
    with pytest.raises(Killed):
        graph.invoke({"review": "Mug chips."}, thread_config("job1"), durability="sync")  # type: ignore[arg-type]
    checkpointer.die_at = None
    assert choose_input(graph, "job1") is None

    graph.invoke(None, thread_config("job1"), durability="sync")
    assert graph.get_state(thread_config("job1")).values == FINISHED
    assert choose_input(graph, "job1") == {}  # finished: the next tick starts a new run
