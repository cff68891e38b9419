"""Every error batchgraph raises on purpose.

    BatchgraphError                 what the CLI turns into a message (and exit code 2)
    ├── InputError                  the input file is wrong; nothing was sent
    ├── ConfigError                 a missing key, an unknown provider or model, a bad option
    ├── ProviderCallError           a provider refused a call; retrying will not fix it
    │   └── ProviderUnavailable     a rate limit, a 5xx or no answer: a later try may succeed
    ├── JobNotFound                 no such job in the store
    │   └── FlowNotFound            no such flow in the store
    ├── JobBusy                     another process holds the job's lock
    ├── HostStopped                 a host refuses every call until the user acts; the job
    │   │                           stays resumable
    │   ├── QuotaExhausted          its quota is spent (a daily limit, no credits)
    │   └── FeatureUnsupported      it refuses something every request asks for (a JSON schema)
    └── CostLimitExceeded           the estimate is over --max-cost; nothing was sent

Each message says what went wrong, where, and what to do next. The errors about what a user
gave (InputError, ConfigError, CostLimitExceeded) are also `ValueError`s, and the provider
errors `RuntimeError`s: a LangGraph server passes those messages on to its clients, and hides
other exceptions' messages.

Both provider errors carry the provider and the batch id. Loops that tick jobs (`run`, `worker`)
wait out a `ProviderUnavailable` however long it lasts, and stop at any other
`ProviderCallError`: trying again would only repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass


class BatchgraphError(Exception):
    """Base of all batchgraph errors; its message is meant for the user."""


@dataclass(frozen=True, slots=True)
class InputProblem:
    """One bad line of an input file, with the fix; or, said once, a problem many lines share.

    One mistake (no `--model` for a file whose lines name none) is one message, not one per
    line: `count` lines have this same problem and fix, `line` is the first of them, `also`
    names the next few, and `every` says that no line of the input was without it.
    """

    line: int
    problem: str
    fix: str
    count: int = 1
    also: tuple[int, ...] = ()
    every: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.problem} — {self.fix}"

    @property
    def where(self) -> str:
        if self.count == 1:
            return f"line {self.line}"
        if self.every:
            return f"all {self.count} lines"
        named = ", ".join(str(n) for n in (self.line, *self.also))
        rest = self.count - 1 - len(self.also)
        return f"lines {named} and {rest} more" if rest else f"lines {named}"


class InputError(BatchgraphError, ValueError):
    """The input has bad lines; carries each of them. Raised before anything is sent."""

    def __init__(self, source: str, problems: list[InputProblem], more: int = 0) -> None:
        self.source = source
        self.problems = problems
        self.more = more
        lines = "\n".join(f"  {p}" for p in problems)
        tail = f"\n  … and {more} more bad lines" if more else ""
        count = sum(p.count for p in problems) + more
        noun = "line" if count == 1 else "lines"
        super().__init__(f"{source}: {count} bad {noun}; nothing was sent.\n{lines}{tail}")


class ConfigError(BatchgraphError, ValueError):
    """A setting is missing or wrong (API key, provider, model, option)."""


class ProviderCallError(BatchgraphError, RuntimeError):
    """A provider refused a call in a way retrying will not fix (a bad request, a wrong key)."""

    def __init__(self, provider: str, message: str, batch_id: str | None = None) -> None:
        self.provider = provider
        self.batch_id = batch_id
        where = f" (batch {batch_id})" if batch_id else ""
        super().__init__(f"{provider}{where}: {message}")


class ProviderUnavailable(ProviderCallError):
    """A provider call failed for now: rate limited (429), a server error (5xx), a timeout or
    a broken connection. The same call later may succeed, so callers back off and try again."""


class ResultsGone(ProviderCallError):
    """A batch ended but its results can no longer be read (archived, deleted, 404): asking
    again will not bring them back, so its requests are settled as failed and sent again."""


TRANSIENT_HTTP_STATUSES = frozenset({408, 409, 429})
"""Statuses below 500 that mean "not now" rather than "never" (every 5xx does too)."""


def is_transient_status(status: int) -> bool:
    """Whether an HTTP error status is one a later try may not meet."""
    return status >= 500 or status in TRANSIENT_HTTP_STATUSES


class JobNotFound(BatchgraphError):
    """No job with that id in the store."""

    def __init__(self, job_id: str, where: str = "this database") -> None:
        self.job_id = job_id
        self.where = where
        super().__init__(
            f"no job {job_id!r} in {where}; `batchgraph list` shows its jobs, and --db (or "
            "BATCHGRAPH_DB, or BATCHGRAPH_HOME) chooses another database"
        )


class FlowNotFound(JobNotFound):
    """No flow with that id in the store (a `JobNotFound`, as callers that look up either
    catch)."""

    def __init__(self, flow_id: str, where: str = "this database") -> None:
        self.job_id = flow_id
        self.where = where
        BatchgraphError.__init__(
            self,
            f"no flow {flow_id!r} in {where}; `batchgraph flow list` shows its flows, and --db "
            "(or BATCHGRAPH_DB, or BATCHGRAPH_HOME) chooses another database",
        )


class JobBusy(BatchgraphError):
    """Another process is advancing this job right now."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(
            f"job {job_id} is being advanced by another process; try again in a moment"
        )


class CostLimitExceeded(BatchgraphError, ValueError):
    """The job's estimated cost is over the limit the user set."""


class HostStopped(BatchgraphError):
    """A host refuses every call until the user acts.

    Synchronous execution stops at once (the calls in flight end first); requests without a
    result stay queued, so the same job resumes where it stopped (`batchgraph run --job JOB`).
    """

    def __init__(self, provider: str, message: str, job_id: str | None = None) -> None:
        self.provider = provider
        self.job_id = job_id
        super().__init__(f"{provider}: {message}")

    def for_job(self, job_id: str) -> HostStopped:
        """The same error, naming the job to resume (`JOB` in the message becomes its id)."""
        detail = str(self).removeprefix(f"{self.provider}: ").replace("JOB", job_id)
        return type(self)(self.provider, detail, job_id)


class QuotaExhausted(HostStopped):
    """A host's quota is spent (a daily quota, no credits left)."""


class FeatureUnsupported(HostStopped):
    """A host refuses a feature the job's requests ask for (a local server that cannot follow
    a JSON schema): every such call would be refused alike, so none is sent after the first."""
