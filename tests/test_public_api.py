"""What `import batchgraph` offers is a promise: this pins it."""

from __future__ import annotations

import subprocess
import sys

import batchgraph


def test_public_names_are_pinned() -> None:
    assert batchgraph.__all__ == [
        "Backoff", "Batchgraph", "BatchgraphError", "ConfigError", "CostLimitExceeded",
        "InputError", "JobBusy", "JobNotFound", "JobView", "Outcome", "ProviderCallError",
        "ProviderUnavailable", "ReadOptions", "Request", "Result", "Usage", "run_job",
    ]  # fmt: skip
    assert sorted(batchgraph._EXPORTS) == sorted(batchgraph.__all__)
    for name in batchgraph.__all__:
        assert getattr(batchgraph, name).__name__ == name


def test_importing_the_package_loads_neither_langgraph_nor_any_provider_sdk() -> None:
    probe = (
        "import sys, batchgraph; "
        "print(sorted(m for m in ('langgraph', 'openai', 'anthropic', 'mistralai') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr
