r"""The Python API: submit a job, tick it, run it to the end, read its status and results.

An example that runs (it is tested, in a scratch folder, against the embedded sandbox):

>>> from pathlib import Path
>>> from batchgraph import Backoff, Batchgraph, ReadOptions, run_job
>>> _ = Path("reviews.csv").write_text("id,text\nr1,Loved it\nr2,Broke in a day\n")
>>> bg = Batchgraph.open()                  # .batchgraph/ in the current directory
>>> job_id = bg.submit("reviews.csv", provider="sandbox-openai",
...                    options=ReadOptions(model="gpt-4o-mini", template="Classify: {text}"))
>>> _ = bg.tick(job_id)                     # one step; returns at once
>>> view = run_job(bg, job_id, Backoff(initial=0.1))  # until every request has its final state
>>> view.counts["succeeded"], bg.report(job_id)["accounted"]
(2, True)
>>> bg.write_results(job_id, "out.csv")     # one row per input row, its columns kept
PosixPath('out.csv')
>>> bg.close()
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from batchgraph.deps import Deps, ProviderFactory
from batchgraph.store.base import ChunkRecord, JobRecord, LedgerRow

if TYPE_CHECKING:
    from batchgraph.execution import Execution
    from batchgraph.io import ReadOptions
    from batchgraph.jobs import JobSettings

# Reading a job (`view`, `report`, `jobs`) needs only the store: the readers, the job intake,
# the graph and the provider SDKs are imported by the methods that use them, so that
# `batchgraph status` starts fast.

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobView:
    """A job with its chunks and ledger counts, for status displays."""

    job: JobRecord
    chunks: list[ChunkRecord]
    counts: dict[str, int]

    @property
    def finished(self) -> bool:
        return self.job.report is not None


class Batchgraph:
    """One store and the graph over it."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.store = deps.store
        self._graph: Any = None

    @classmethod
    def open(
        cls,
        db: str | None = None,
        data_dir: Path | None = None,
        provider_factory: ProviderFactory | None = None,
    ) -> Batchgraph:
        """Open the store at `db` (a SQLite path or a postgresql:// URL; `BATCHGRAPH_DB`)."""
        return cls(Deps.open(db, data_dir, provider_factory))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Batchgraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def graph(self) -> Any:
        if self._graph is None:
            # LangGraph is imported here, not at the top: reading jobs needs no graph.
            from batchgraph.graph.build import compile_graph

            self._graph = compile_graph(self.deps)
        return self._graph

    def create(
        self, input: str | Path, *, new: bool = False, **settings: Unpack[JobSettings]
    ) -> str:
        """Check the provider can be reached with its key, validate `input` and store it as a
        new job; return its id. Nothing is sent: ticks send it. `settings` are `create_job`'s:
        provider, options, name, max_attempts, batch_size, key, execution, and for your own
        OpenAI-compatible server (`provider="openai-compatible"`) `base_url` and
        `api_key_env` (the variable holding its key, when it needs one).

        The same input created again with the same provider and options (or the same explicit
        `key`) returns the job that exists, finished or not, instead of paying for it twice;
        `new=True` makes a second job. `existing_job` tells the two cases apart.

        Requests an earlier job answered are answered from the store's result cache at no cost,
        and requests repeated in `input` are sent once; `cache=False` sends every request (fresh
        samples, at full price) and is a job of its own.
        """
        found = self._found_or_keyed(input, new, settings)
        if found is not None:
            return found
        from batchgraph.jobs import create_job

        return create_job(self.deps, input=input, **settings)

    def submit(
        self, input: str | Path, *, new: bool = False, **settings: Unpack[JobSettings]
    ) -> str:
        """`create` the job, then take its first step (plan and submit); return its id. A job
        that exists already (see `create`) is returned as it is.

        A provider unavailable for now (rate limit, 5xx) during the first step leaves the job
        stored with its batches unsent, as after any tick: the next `tick` or `run_job` sends
        them. Any other error is raised with a note naming the job, which stays stored.
        """
        from batchgraph.errors import ProviderUnavailable

        found = self._found_or_keyed(input, new, settings)
        if found is not None:
            return found
        job_id = self.create(input, new=True, **settings)
        try:
            self.tick(job_id)
        except ProviderUnavailable as error:
            log.warning("job %s is stored; its first step waits: %s", job_id, error)
        except BaseException as error:
            error.add_note(f"job {job_id} is stored; `tick` or `run_job` takes it on from here")
            raise
        return job_id

    def _found_or_keyed(self, input: str | Path, new: bool, settings: JobSettings) -> str | None:
        """The id of the job these settings name already (unless `new`); otherwise None, with
        the job's key put into `settings` for the job about to be created."""
        key = settings.get("key") or self._content_key(
            input,
            settings["provider"],
            settings.get("options"),
            settings.get("execution"),
            settings.get("base_url"),
            settings.get("cache", True),
        )
        found = None if new or key is None else self.store.find_job_by_key(key)
        if found is not None:
            return found.id
        settings["key"] = key
        return None

    def existing_job(
        self,
        input: str | Path,
        *,
        provider: str,
        options: ReadOptions | None = None,
        key: str | None = None,
        execution: Execution | None = None,
        base_url: str | None = None,
        cache: bool = True,
    ) -> JobRecord | None:
        """The job a `submit` of these arguments would return instead of creating one."""
        key = key or self._content_key(input, provider, options, execution, base_url, cache)
        return None if key is None else self.store.find_job_by_key(key)

    @staticmethod
    def _content_key(
        input: str | Path,
        provider: str,
        options: ReadOptions | None,
        execution: Execution | None = None,
        base_url: str | None = None,
        cache: bool = True,
    ) -> str | None:
        from batchgraph.io import ReadOptions
        from batchgraph.jobs import job_key

        path = Path(input)
        if not path.is_file():
            return None  # `create_job` says what is wrong with the path
        mode = execution.mode.value if execution is not None else "batch"
        return job_key(path.resolve(), provider, options or ReadOptions(), mode, base_url, cache)

    def tick(self, job_id: str) -> dict[str, Any]:
        """One step under the job's lock: submit what is unsent, check, collect, retry."""
        from batchgraph.graph.tick import tick_graph

        self.store.get_job(job_id)
        with self.store.lock(job_id):
            return tick_graph(self.graph, job_id)

    def view(self, job_id: str) -> JobView:
        job = self.store.get_job(job_id)
        counts = {status.value: n for status, n in self.store.counts(job_id).items()}
        return JobView(job, self.store.list_chunks(job_id), counts)

    def report(self, job_id: str) -> dict[str, Any]:
        """The job's account: counts that add up to the input count, tokens and cost.

        A finished job's report is the one saved when it ended; an unfinished job's is
        computed from what was collected so far.
        """
        from batchgraph.report import build_report

        job = self.store.get_job(job_id)
        return job.report or build_report(self.store, job)

    def jobs(self) -> list[JobRecord]:
        return self.store.list_jobs()

    def ledger(self, job_id: str) -> Iterator[LedgerRow]:
        return self.store.ledger(job_id)

    def results(self, job_id: str) -> Iterator[dict[str, Any]]:
        """Every request's result record, in input order, streamed (what `write_results`
        writes for JSONL): id, status, text or parsed answer, tokens, error, batch id."""
        self.store.get_job(job_id)
        return self.store.result_records(job_id)

    def write_results(
        self, job_id: str, out: str | Path, *, results_format: str = "batchgraph"
    ) -> Path:
        """One record per input, in input order, errors included; table inputs keep columns.
        `results_format="openai"` writes OpenAI's batch output lines (JSONL)."""
        from batchgraph.io import write_results
        from batchgraph.jobs import kept_input

        job = self.store.get_job(job_id)
        path = Path(out)
        with kept_input(self.store, job) as (input_path, options):
            write_results(
                lambda: self.store.result_records(job_id),
                path,
                input_path=input_path,
                read_options=options,
                results_format=results_format,
            )
        return path

    def prune_cache(self, older_than: float) -> int:
        """Forget the result cache's answers stored more than `older_than` seconds ago; return
        how many. Jobs and their results stay: later jobs only stop reusing those answers."""
        import time

        if older_than < 0:
            raise ValueError("older_than is a number of seconds, 0 or more")
        return self.store.prune_cache(time.time() - older_than)

    def cancel(self, job_id: str) -> JobView:
        """Cancel the job's running batches; finished results stay and are collected."""
        from batchgraph.graph.nodes import JobNodes

        self.store.get_job(job_id)
        with self.store.lock(job_id):
            JobNodes(self.deps).cancel_job(job_id)
        return self.view(job_id)
