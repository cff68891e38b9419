"""Where a provider's key and address come from: explicit arguments, then the environment.

Keys are read here and nowhere else, and are never written to the store, logs or results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from batchgraph.errors import ConfigError

PROVIDERS = ("openai", "anthropic", "mistral")
"""The real providers; `sandbox-<name>` points one of them at the embedded sandbox."""

SANDBOX_PREFIX = "sandbox-"
SANDBOX_API_KEY = "sandbox-key"


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """Everything needed to reach one provider. `api_key` never appears in a repr."""

    provider: str
    api_key: str = field(repr=False)
    base_url: str | None = None


def split_provider_name(name: str) -> tuple[str, bool]:
    """`sandbox-openai` -> ("openai", True); `openai` -> ("openai", False)."""
    sandbox = name.startswith(SANDBOX_PREFIX)
    base = name.removeprefix(SANDBOX_PREFIX)
    if base not in PROVIDERS:
        choices = ", ".join([*PROVIDERS, *(SANDBOX_PREFIX + p for p in PROVIDERS)])
        raise ConfigError(f"unknown provider {name!r}; choose one of: {choices}")
    return base, sandbox


def resolve_settings(
    provider: str, api_key: str | None = None, base_url: str | None = None
) -> ProviderSettings:
    """Settings for a real provider, from the arguments or `<PROVIDER>_API_KEY`/`_BASE_URL`."""
    env = provider.upper()
    key = api_key or os.environ.get(f"{env}_API_KEY")
    if not key:
        raise ConfigError(
            f"no API key for {provider}: set {env}_API_KEY or pass --api-key "
            f"(or try the offline sandbox with --provider sandbox-{provider})"
        )
    return ProviderSettings(provider, key, base_url or os.environ.get(f"{env}_BASE_URL"))
