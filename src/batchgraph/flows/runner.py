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
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langgraph.pregel import Pregel

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError, JobBusy
from batchgraph.flows.inputs import check_inputs, input_parts, stored_states
from batchgraph.flows.loading import load_graph
from batchgraph.flows.threads import (
    ThreadState,
    advance,
    calls_of,
    failure_of,
    state_of,
    thread_config,
)
from batchgraph.flows.waves import ThreadRecords, WaveWriter
from batchgraph.io import ReadOptions
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
    cache: bool = True,
    base_url: str | None = None,
    api_key_env: str | None = None,
) -> str:
    """Store a new flow of `graph` (`module:attribute`) over the JSONL `input`; return its id.

    Each input line is one thread's initial state. Every line is checked before anything is
    stored; the file is kept in the store with the flow (see `batchgraph.flows.inputs`).
    Nothing runs until the first tick. With `cache` (the default) a model call an earlier job
    or flow answered is answered from the store's result cache at no cost, as in a job;
    `cache=False` sends every call (fresh samples from a graph that wants them).
    `base_url` and `api_key_env` are the address of an `openai-compatible` `provider`, for the
    calls of models that name no provider of their own.
    """
    path = Path(input).resolve()
    if not path.is_file():
        raise ConfigError(f"input file {path} does not exist — give a JSONL file of states")
    from batchgraph.providers.settings import HostAddress, check_address

    check_address(provider, HostAddress(base_url, api_key_env))  # a name, an address, now
    load_graph(graph)  # refuse a bad reference now, not at the first tick
    threads, sha256 = check_inputs(path)
    flow = FlowRecord(
        id=secrets.token_hex(6),
        name=name or path.stem,
        spec={
            "graph": graph,
            "input": str(path),
            "input_sha256": sha256,
            "threads": threads,
            "provider": provider,
            "model": model,
            **({} if cache else {"cache": False}),
            **({"base_url": base_url} if base_url else {}),
            **({"api_key_env": api_key_env} if api_key_env else {}),
        },
        progress={"wave": 0, "jobs": [], "all_jobs": []},
    )
    bg.store.save_flow(flow, input_parts(path, sha256))
    return flow.id


class FlowRunner:
    """Ticks one flow: its threads, in the store's checkpointer, and its waves of jobs.

    Threads are visited one at a time in input order, their states streamed from the store:
    nothing held in memory grows with the number of threads.
    """

    def __init__(
        self, bg: Batchgraph, flow_id: str, graph: Pregel[Any, Any, Any, Any] | None = None
    ) -> None:
        self.bg = bg
        self.store = bg.store
        self.flow = self.store.get_flow(flow_id)
        loaded = graph if graph is not None else load_graph(str(self.flow.spec["graph"]))
        self.graph = loaded.copy(update={"checkpointer": self.store.checkpointer()})

    @property
    def cache(self) -> bool:
        """Whether the flow's calls may be answered from the result cache (`create_flow`)."""
        return bool(self.flow.spec.get("cache", True))

    @property
    def thread_count(self) -> int:
        if "inputs" in self.flow.spec:  # a flow stored before inputs were kept as a copy
            return len(self.flow.spec["inputs"])
        return int(self.flow.spec["threads"])

    def inputs(self) -> Iterator[dict[str, Any]]:
        """Each thread's initial state, in input order, one at a time."""
        if "inputs" in self.flow.spec:
            inputs: list[dict[str, Any]] = self.flow.spec["inputs"]
            yield from inputs
            return
        yield from stored_states(self.store.flow_input(self.flow.id), str(self.flow.spec["input"]))

    def tick(self) -> FlowRecord:
        """One step (see the module docstring); returns the flow as it now stands."""
        with self.store.lock(f"flow-{self.flow.id}"):
            self.flow = self.store.get_flow(self.flow.id)
            if self.flow.status == DONE:
                return self.flow
            jobs = [str(job) for job in self.flow.progress.get("jobs", [])]
            if not self._jobs_ended(jobs):
                return self.flow
            wave = self._advance_threads(jobs)
            if wave.groups:
                self._start_wave(wave)
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

    def _advance_threads(self, jobs: list[str]) -> WaveWriter:
        """Move every thread on with its answers from `jobs`; the calls they now wait for are
        written to the next wave's input files as each thread stops."""
        spec = self.flow.spec
        defaults = {key: spec.get(key) for key in ("provider", "model", "base_url", "api_key_env")}
        answers = ThreadRecords(self.store, jobs)
        wave = WaveWriter(self.bg.deps.data_dir, str(self.flow.spec["provider"]))
        try:
            for thread, initial in enumerate(self.inputs()):
                config = thread_config(self.flow.id, thread, defaults)
                resume = {str(r["id"]): _answer(job, r) for job, r in answers.of(thread)}
                snapshot = advance(self.graph, config, initial, resume, thread)
                wave.add(calls_of(thread, snapshot))
        except BaseException:
            wave.discard()
            raise
        return wave

    def _start_wave(self, wave: WaveWriter) -> None:
        jobs = []
        for group, path in wave.close():
            schema = group.output_schema
            options = ReadOptions(
                output_schema=OutputSchema(schema["name"], schema["schema"]) if schema else None
            )
            jobs.append(
                self.bg.submit(
                    path,
                    provider=group.provider,
                    options=options,
                    cache=self.cache,
                    base_url=group.base_url,
                    api_key_env=group.api_key_env,
                )
            )
        number = int(self.flow.progress.get("wave", 0)) + 1
        all_jobs = list(self.flow.progress.get("all_jobs", []))
        self.flow.progress = {
            "wave": number,
            "jobs": jobs,
            "all_jobs": [*all_jobs, *(job for job in jobs if job not in all_jobs)],
        }

    def _report(self) -> dict[str, JSON]:
        counts: dict[str, int] = {}
        for thread in range(self.thread_count):
            snapshot = self.graph.get_state(thread_config(self.flow.id, thread, {}))
            state = state_of(snapshot).value
            counts[state] = counts.get(state, 0) + 1
        all_jobs = [str(job) for job in self.flow.progress.get("all_jobs", [])]
        batch_usd = sync_usd = saved_usd = 0.0
        reused = 0
        for job_id in all_jobs:
            report = self.store.get_job(job_id).report or {}
            batch_usd += float(report.get("batch_usd") or 0.0)
            sync_usd += float(report.get("sync_usd") or 0.0)
            found = report.get("reused") or {}
            reused += int(found.get("cache_hits") or 0) + int(found.get("duplicates") or 0)
            saved_usd += float(found.get("saved_usd") or 0.0)
        return {
            "threads": self.thread_count,
            "counts": counts,
            "waves": int(self.flow.progress.get("wave", 0)),
            "jobs": all_jobs,
            "batch_usd": batch_usd,
            "sync_usd": sync_usd,
            "saving_usd": sync_usd - batch_usd,
            "reused_calls": reused,
            "reused_usd": saved_usd,
        }

    def final_state(self, thread: int) -> dict[str, Any]:
        """The thread's state as it now stands (its final state once the flow is done)."""
        return dict(self.graph.get_state(thread_config(self.flow.id, thread, {})).values)

    def records(self) -> Iterator[dict[str, Any]]:
        """One record per input, in input order: its final state, status and model calls,
        streamed (each thread's calls are read from every wave's job as it comes)."""
        jobs = [str(job) for job in self.flow.progress.get("all_jobs", [])]
        calls = ThreadRecords(self.store, jobs)
        for thread, initial in enumerate(self.inputs()):
            snapshot = self.graph.get_state(thread_config(self.flow.id, thread, {}))
            status, error = thread_outcome(snapshot)
            made = [record for _, record in calls.of(thread)]
            yield {
                "id": initial.get("id", thread),
                "status": status,
                "error": error,
                "state": dict(snapshot.values),
                "llm_calls": len(made),
                "input_tokens": sum(int(r.get("input_tokens") or 0) for r in made),
                "output_tokens": sum(int(r.get("output_tokens") or 0) for r in made),
            }


def _answer(job_id: str, record: dict[str, JSON]) -> dict[str, Any]:
    """A wave record as the payload its waiting call is resumed with."""
    return {
        "status": record["status"],
        "record": record,
        "job_id": job_id,
        "error_code": record.get("error_code"),
        "error_message": record.get("error_message"),
    }


def thread_outcome(snapshot: Any) -> tuple[str, str | None]:
    """A thread's final status for its results record, and its error if it failed."""
    state = state_of(snapshot)
    if state is ThreadState.FAILED:
        return "failed", failure_of(snapshot)
    return ("done", None) if state is ThreadState.DONE else (state.value, None)
