"""Jobs against a sandbox on a free port (the graph tests' fixtures)."""

from tests.graph.conftest import MODELS, PROVIDERS, bg, sandbox_factory, write_prompts

__all__ = ["MODELS", "PROVIDERS", "bg", "sandbox_factory", "write_prompts"]
