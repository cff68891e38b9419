"""A user's graph over many inputs, its model calls gathered into batch jobs ("waves").

One `tick` of a flow:

1. while the current wave's jobs run, tick them and stop there;
2. once they have all ended (or before the first wave), move every thread on: start it,
   resume it with its answers, or finish a step cut short; threads stop at their next model
   calls or at their end;
3. gather the calls every thread now waits for into the next wave: one job per provider and
   answer schema, through the ordinary job machinery (chunking, tags, ledger, retries).

A graph with three model steps in a row takes three waves; threads that end early stop early.
Nothing is paid twice after a crash: thread state lives in the store's checkpointer, a wave's
input file is named after its content and a job's identity is its content, so gathering the
same calls again finds the same jobs (`Batchgraph.submit`), and a thread is resumed only with
answers to the calls it waits for now.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langgraph.pregel import Pregel

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError, JobBusy
from batchgraph.flows.loading import load_graph
from batchgraph.flows.threads import (
    Call,
    ThreadState,
    advance,
    calls_of,
    failure_of,
    state_of,
    thread_config,
)
from batchgraph.io import ReadOptions
from batchgraph.langchain.chat_model import REQUEST_KEY
from batchgraph.langchain.jobs import write_input
from batchgraph.model import JSON, OutputSchema
from batchgraph.store.base import FlowRecord

RUNNING, DONE = "running", "done"


def create_flow(
    bg: Batchgraph,
    *,
    graph: str,
    input: str | Path,
    provider: str,
    model: str | None = None,
    name: str | None = None,
) -> str:
    """Store a new flow of `graph` (`module:attribute`) over the JSONL `input`; return its id.

    Each input line is one thread's initial state. Nothing runs until the first tick.
    """
    path = Path(input).resolve()
    if not path.is_file():
        raise ConfigError(f"input file {path} does not exist — give a JSONL file of states")
    load_graph(graph)  # refuse a bad reference now, not at the first tick
    inputs = list(read_inputs(path))
    flow = FlowRecord(
        id=secrets.token_hex(6),
        name=name or path.stem,
        spec={"graph": graph, "inputs": inputs, "provider": provider, "model": model},
        progress={"wave": 0, "jobs": [], "all_jobs": []},
    )
    bg.store.save_flow(flow)
    return flow.id


def read_inputs(path: Path) -> Iterator[JSON]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                raise ConfigError(
                    f"{path}: line {number}: malformed JSON ({err.msg}) — write one JSON object "
                    "per line, each a thread's initial state"
                ) from err
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{path}: line {number}: a thread's initial state must be an object {{...}}"
                )
            yield value


class FlowRunner:
    """Ticks one flow: its threads, in the store's checkpointer, and its waves of jobs."""

    def __init__(
        self, bg: Batchgraph, flow_id: str, graph: Pregel[Any, Any, Any, Any] | None = None
    ) -> None:
        self.bg = bg
        self.store = bg.store
        self.flow = self.store.get_flow(flow_id)
        loaded = graph if graph is not None else load_graph(str(self.flow.spec["graph"]))
        self.graph = loaded.copy(update={"checkpointer": self.store.checkpointer()})

    @property
    def inputs(self) -> list[dict[str, Any]]:
        inputs: list[dict[str, Any]] = self.flow.spec["inputs"]
        return inputs

    def tick(self) -> FlowRecord:
        """One step (see the module docstring); returns the flow as it now stands."""
        with self.store.lock(f"flow-{self.flow.id}"):
            self.flow = self.store.get_flow(self.flow.id)
            if self.flow.status == DONE:
                return self.flow
            jobs = [str(job) for job in self.flow.progress.get("jobs", [])]
            if not self._jobs_ended(jobs):
                return self.flow
            answers = self._answers(jobs)
            waiting = self._advance_threads(answers)
            if waiting:
                self._start_wave(waiting)
            else:
                self.flow.status = DONE
                self.flow.progress["jobs"] = []
                self.flow.report = self._report()
            self.store.save_flow(self.flow)
            return self.flow

    def _jobs_ended(self, jobs: list[str]) -> bool:
        ended = True
        for job_id in jobs:
            if self.bg.view(job_id).finished:
                continue
            with contextlib.suppress(JobBusy):  # another process is ticking it
                self.bg.tick(job_id)
            ended = ended and self.bg.view(job_id).finished
        return ended

    def _answers(self, jobs: list[str]) -> dict[str, Any]:
        """Every wave record by wire id, as the payload a waiting call is resumed with."""
        answers: dict[str, Any] = {}
        for job_id in jobs:
            for record in self.store.result_records(job_id):
                answers[str(record["id"])] = {
                    "status": record["status"],
                    "record": record,
                    "job_id": job_id,
                    "error_code": record.get("error_code"),
                    "error_message": record.get("error_message"),
                }
        return answers

    def _advance_threads(self, answers: dict[str, Any]) -> list[Call]:
        defaults = {"provider": self.flow.spec["provider"], "model": self.flow.spec.get("model")}
        waiting: list[Call] = []
        for thread, initial in enumerate(self.inputs):
            config = thread_config(self.flow.id, thread, defaults)
            snapshot = advance(self.graph, config, initial, answers, thread)
            waiting.extend(calls_of(thread, snapshot))
        return waiting

    def _start_wave(self, calls: list[Call]) -> None:
        groups: dict[str, list[Call]] = {}
        for call in calls:
            groups.setdefault(_group_of(call), []).append(call)
        jobs = []
        for key in sorted(groups):
            members = sorted(groups[key], key=lambda c: (c.thread, c.interrupt_id))
            first = members[0].payload
            provider = str(first.get("provider") or self.flow.spec["provider"])
            lines = [{**call.payload[REQUEST_KEY], "id": call.wire_id} for call in members]
            path = write_input(self.bg.deps.data_dir, lines)
            schema = first.get("output_schema")
            options = ReadOptions(
                output_schema=OutputSchema(schema["name"], schema["schema"]) if schema else None
            )
            jobs.append(self.bg.submit(path, provider=provider, options=options))
        wave = int(self.flow.progress.get("wave", 0)) + 1
        all_jobs = list(self.flow.progress.get("all_jobs", []))
        self.flow.progress = {
            "wave": wave,
            "jobs": jobs,
            "all_jobs": [*all_jobs, *(job for job in jobs if job not in all_jobs)],
        }

    def _report(self) -> dict[str, JSON]:
        counts: dict[str, int] = {}
        for thread in range(len(self.inputs)):
            snapshot = self.graph.get_state(thread_config(self.flow.id, thread, {}))
            state = state_of(snapshot).value
            counts[state] = counts.get(state, 0) + 1
        all_jobs = [str(job) for job in self.flow.progress.get("all_jobs", [])]
        batch_usd = sync_usd = 0.0
        for job_id in all_jobs:
            report = self.store.get_job(job_id).report or {}
            batch_usd += float(report.get("batch_usd") or 0.0)
            sync_usd += float(report.get("sync_usd") or 0.0)
        return {
            "threads": len(self.inputs),
            "counts": counts,
            "waves": int(self.flow.progress.get("wave", 0)),
            "jobs": all_jobs,
            "batch_usd": batch_usd,
            "sync_usd": sync_usd,
            "saving_usd": sync_usd - batch_usd,
        }

    def final_state(self, thread: int) -> dict[str, Any]:
        """The thread's state as it now stands (its final state once the flow is done)."""
        return dict(self.graph.get_state(thread_config(self.flow.id, thread, {})).values)

    def records(self) -> Iterator[dict[str, Any]]:
        """One record per input, in input order: its final state, status and model calls."""
        calls: dict[int, list[int]] = {}
        for job_id in self.flow.progress.get("all_jobs", []):
            for record in self.store.result_records(str(job_id)):
                thread = int(str(record["id"]).split("/", 1)[0])
                tally = calls.setdefault(thread, [0, 0, 0])
                tally[0] += 1
                tally[1] += int(record.get("input_tokens") or 0)
                tally[2] += int(record.get("output_tokens") or 0)
        for thread, initial in enumerate(self.inputs):
            snapshot = self.graph.get_state(thread_config(self.flow.id, thread, {}))
            status, error = thread_outcome(snapshot)
            llm_calls, input_tokens, output_tokens = calls.get(thread, [0, 0, 0])
            yield {
                "id": initial.get("id", thread),
                "status": status,
                "error": error,
                "state": dict(snapshot.values),
                "llm_calls": llm_calls,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
            }


def _group_of(call: Call) -> str:
    return json.dumps(
        [call.payload.get("provider"), call.payload.get("output_schema")], sort_keys=True
    )


def thread_outcome(snapshot: Any) -> tuple[str, str | None]:
    """A thread's final status for its results record, and its error if it failed."""
    state = state_of(snapshot)
    if state is ThreadState.FAILED:
        return "failed", failure_of(snapshot)
    return ("done", None) if state is ThreadState.DONE else (state.value, None)
