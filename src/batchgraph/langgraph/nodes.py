"""The batch component's nodes: check the request, ask for approval, create, tick, wait, finish.

Each tick runs the job's own graph through `Batchgraph.tick`: under the per-job lock, one chunk
at a time, checkpointed in batchgraph's store on the job's own thread. So a job created here can
be advanced by the CLI or a worker too, and this graph's state only mirrors the store.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from langgraph.config import get_config, get_store, get_stream_writer
from langgraph.types import interrupt

from batchgraph.api import Batchgraph
from batchgraph.errors import (
    BatchgraphError,
    ConfigError,
    InputError,
    JobBusy,
    JobNotFound,
    ProviderUnavailable,
)
from batchgraph.graph.nodes import chunk_view
from batchgraph.graph.state import ChunkView
from batchgraph.jobs import create_job
from batchgraph.langgraph.progress import chunk_events, job_events
from batchgraph.langgraph.results import publish_results
from batchgraph.langgraph.spec import (
    JobOptions,
    JobSpec,
    inline_error,
    job_key,
    resolve_spec,
    write_inline,
)
from batchgraph.langgraph.state import BatchState
from batchgraph.report import chunk_cost

BgSource = Batchgraph | Callable[[], Batchgraph] | None
"""A Batchgraph, a function that opens one (called once, on first use), or None for
`Batchgraph.open()` (`BATCHGRAPH_DB`, else `.batchgraph/` under `BATCHGRAPH_HOME`)."""


class BatchNodes:
    """The node functions, bound to the job defaults and a lazily opened Batchgraph."""

    def __init__(self, source: BgSource, defaults: JobOptions) -> None:
        self._source = source
        self._bg: Batchgraph | None = source if isinstance(source, Batchgraph) else None
        self._opening = threading.Lock()
        self.defaults = defaults

    @property
    def bg(self) -> Batchgraph:
        with self._opening:
            if self._bg is None:
                source = self._source
                self._bg = source() if callable(source) else Batchgraph.open()
            return self._bg

    def prepare(self, state: BatchState) -> dict[str, Any]:
        """Check the options and every request, and price the job; nothing is created."""
        spec, where = self._spec(state)
        path = self._input_path(spec)
        estimate = None
        if spec.approve_cost:
            from batchgraph.estimate import estimate_job
            from batchgraph.estimate_reuse import ReuseForecast

            bg = self.bg
            reuse = ReuseForecast(bg.store, spec.provider) if spec.cache else None
            try:
                found = estimate_job(path, spec.provider, spec.read, bg.jobs(), reuse=reuse)
                estimate = asdict(found)
            except InputError as error:
                raise (inline_error(error) if spec.requests is not None else error) from None
            estimate["models"] = list(estimate["models"])
            _emit({"event": "estimate", **estimate})
        prepared = {
            "settings": spec.settings,
            "path": str(path),
            "inline": spec.requests is not None,
            "where": where,
        }
        return {"spec": prepared, "estimate": estimate, "approved": None}

    def approve(self, state: BatchState) -> dict[str, Any]:
        """With `approve_cost`, pause with the estimate until resumed with True or False."""
        settings = (state.get("spec") or {}).get("settings") or {}
        if not settings.get("approve_cost"):
            return {"approved": True}
        answer = interrupt(
            {
                "kind": "approve_cost",
                "estimate": state.get("estimate"),
                "question": "submit this job at this estimated cost? resume with True to "
                "submit, False to cancel",
            }
        )
        if not isinstance(answer, bool):
            raise ConfigError(
                f"the cost approval was answered {answer!r} — resume with True to submit or "
                "False to cancel"
            )
        _emit({"event": "approved" if answer else "declined"})
        if answer:
            return {"approved": True}
        return {"approved": False, "status": "cancelled", "spec": None}

    def create(self, state: BatchState) -> dict[str, Any]:
        """Create the job, or find the one this same request created before a crash."""
        prepared = state.get("spec") or {}
        settings, path, inline = prepared["settings"], Path(prepared["path"]), prepared["inline"]
        spec = resolve_spec({}, {**settings, "input": str(path)}, prepared["where"])
        job_id = job_key(_place(), settings, path, inline)
        bg = self.bg
        try:
            bg.store.get_job(job_id)
        except JobNotFound:
            try:
                create_job(
                    bg.deps,
                    input=path,
                    provider=spec.provider,
                    options=spec.read,
                    name=spec.name,
                    max_attempts=spec.max_attempts,
                    batch_size=spec.batch_size,
                    key=f"langgraph:{job_id}",
                    job_id=job_id,
                    cache=spec.cache,
                )
            except InputError as error:
                raise (inline_error(error) if inline else error) from None
            except BatchgraphError:
                raise
            except ValueError:  # the store refuses the id: another run created it just now
                bg.store.get_job(job_id)
        job = bg.store.get_job(job_id)
        _emit({"event": "created", "job_id": job_id, "requests": job.total})
        return {
            "job_id": job_id,
            "status": job.status.value,
            "settings": {
                "inline_results": spec.inline_results,
                "page_size": spec.page_size,
            },
            "spec": None,
        }

    def tick(self, state: BatchState) -> dict[str, Any]:
        """One step of the job under its lock; then the state mirrors the store.

        A busy lock or a provider that is unavailable for now is noted and tried again at the
        next run; a provider's refusal ends the run with its message.
        """
        job_id = _job_id(state)
        bg = self.bg
        note = None
        try:
            # A fresh context: the job's graph runs on its own thread and checkpointer, not as
            # a subgraph of this one (LangGraph passes the running graph's config in context).
            contextvars.Context().run(bg.tick, job_id)
        except JobBusy:
            note = f"job {job_id} is being advanced by another process; ticked it next time"
        except ProviderUnavailable as failure:
            note = f"{failure} — trying again at the next run"
            _emit({"event": "error", "job_id": job_id, "message": note})
        return {**self._mirror(state, job_id), "last_error": note}

    def wait(self, state: BatchState) -> dict[str, Any]:
        """End this run while batches run: the next run (resume, new input or a cron) ticks."""
        interrupt(
            {
                "kind": "waiting",
                "job_id": state["job_id"],
                "counts": state.get("counts"),
                "batches": {k: v.get("provider_status") for k, v in state["chunks"].items()},
                "last_error": state.get("last_error"),
                "resume": "with any value (or run with {} or a cron) to check again",
            }
        )
        return {}

    def finish(self, state: BatchState) -> dict[str, Any]:
        """The results: inline for small jobs, and page by page in the LangGraph store."""
        job_id = _job_id(state)
        bg = self.bg
        job = bg.store.get_job(job_id)
        settings = state.get("settings") or {}
        page_size = int(settings.get("page_size", 100))
        try:
            store = get_store()
        except RuntimeError:
            store = None
        ref = publish_results(store, job_id, bg.results(job_id), job.total, page_size)
        inline = None
        if job.total <= int(settings.get("inline_results", 100)):
            inline = list(bg.results(job_id))
        _emit({"event": "done", "job_id": job_id, "counts": (job.report or {}).get("counts")})
        return {"results": inline, "results_ref": ref, "report": job.report}

    def _spec(self, state: BatchState) -> tuple[JobSpec, str]:
        if state.get("new_job") is not None:
            return resolve_spec(self.defaults, state["new_job"], "new_job"), "new_job"
        given = dict(state.get("options") or {})
        for key in ("requests", "input"):
            if state.get(key) is not None:
                given[key] = state.get(key)
        return resolve_spec(self.defaults, given, "input"), "input"

    def _input_path(self, spec: JobSpec) -> Path:
        if spec.requests is not None:
            return write_inline(spec.requests, self.bg.deps.data_dir / "inputs")
        path = Path(str(spec.input)).resolve()
        if not path.is_file():
            raise ConfigError(
                f"input file {path} does not exist on the machine running the graph — give "
                "a path there, or pass the requests inline"
            )
        return path

    def _mirror(self, state: BatchState, job_id: str) -> dict[str, Any]:
        bg = self.bg
        job = bg.store.get_job(job_id)
        chunks = bg.store.list_chunks(job_id)
        views: dict[str, ChunkView] = {
            str(c.chunk): {**chunk_view(c), "counts": dict(c.counts)} for c in chunks
        }
        counts = {status.value: n for status, n in bg.store.counts(job_id).items() if n}
        priced = chunk_cost(job.provider, chunks)
        cost = {"batch_usd": priced.batch_usd, "sync_usd": priced.sync_usd}
        for event in chunk_events(state.get("chunks") or {}, views):
            _emit(event)
        for event in job_events(job_id, dict(state), counts, cost):
            _emit(event)
        return {
            "chunks": views,
            "counts": counts,
            "cost": cost,
            "status": job.status.value,
            "report": job.report,
        }


def _job_id(state: BatchState) -> str:
    job_id = state.get("job_id")
    if not job_id:
        raise ConfigError("this thread has no job yet — start it with the job's requests")
    return job_id


def _emit(event: dict[str, Any]) -> None:
    get_stream_writer()(event)


def _place() -> tuple[str, ...]:
    """Where the job is asked for: the thread and the graph namespace (node names only)."""
    configurable = get_config().get("configurable", {})
    names = [part.split(":")[0] for part in configurable.get("checkpoint_ns", "").split("|")]
    return (str(configurable.get("thread_id", "")), *names)
