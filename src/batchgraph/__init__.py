r"""batchgraph: LLM work through the providers' Batch APIs, as a durable LangGraph job.

>>> from pathlib import Path
>>> from batchgraph import Batchgraph, ReadOptions, run_job
>>> _ = Path("prompts.jsonl").write_text('{"id": "q1", "prompt": "Is 7 prime?"}\n')
>>> with Batchgraph.open() as bg:
...     job_id = bg.submit("prompts.jsonl", provider="sandbox-openai",
...                        options=ReadOptions(model="gpt-4o-mini"))
...     view = run_job(bg, job_id)
...     path = bg.write_results(job_id, "results.jsonl")
>>> view.counts["succeeded"]
1

`provider="openai"` (with `OPENAI_API_KEY` set) sends the same job to OpenAI's Batch API.
Names are imported on first use, so `import batchgraph` (and the CLI) start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Batchgraph": "batchgraph.api",
    "JobView": "batchgraph.api",
    "ReadOptions": "batchgraph.io",
    "Request": "batchgraph.model",
    "Result": "batchgraph.model",
    "Outcome": "batchgraph.model",
    "Usage": "batchgraph.model",
    "Backoff": "batchgraph.runner.loop",
    "run_job": "batchgraph.runner.loop",
    "BatchgraphError": "batchgraph.errors",
    "InputError": "batchgraph.errors",
    "ConfigError": "batchgraph.errors",
    "ProviderCallError": "batchgraph.errors",
    "ProviderUnavailable": "batchgraph.errors",
    "JobBusy": "batchgraph.errors",
    "JobNotFound": "batchgraph.errors",
    "CostLimitExceeded": "batchgraph.errors",
}

__all__ = [
    "Backoff",
    "Batchgraph",
    "BatchgraphError",
    "ConfigError",
    "CostLimitExceeded",
    "InputError",
    "JobBusy",
    "JobNotFound",
    "JobView",
    "Outcome",
    "ProviderCallError",
    "ProviderUnavailable",
    "ReadOptions",
    "Request",
    "Result",
    "Usage",
    "run_job",
]

if TYPE_CHECKING:
    from batchgraph.api import Batchgraph, JobView
    from batchgraph.errors import (
        BatchgraphError,
        ConfigError,
        CostLimitExceeded,
        InputError,
        JobBusy,
        JobNotFound,
        ProviderCallError,
        ProviderUnavailable,
    )
    from batchgraph.io import ReadOptions
    from batchgraph.model import Outcome, Request, Result, Usage
    from batchgraph.runner.loop import Backoff, run_job


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'batchgraph' has no attribute {name!r}")
    return getattr(import_module(module), name)
