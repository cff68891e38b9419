"""Provider adapters: one module per provider, registered here and nowhere else."""

from __future__ import annotations

from pathlib import Path

from batchgraph.providers.base import Provider
from batchgraph.providers.settings import (
    SANDBOX_API_KEY,
    ProviderSettings,
    resolve_settings,
    split_provider_name,
)


def adapter_class(name: str) -> type[Provider]:
    """The adapter class for a provider name (`openai`, `sandbox-openai`, …), no credentials."""
    # Imported lazily so that a command only pays for the SDK it uses.
    provider, _ = split_provider_name(name)
    if provider == "openai":
        from batchgraph.providers.openai import OpenAIProvider

        return OpenAIProvider
    if provider == "anthropic":
        from batchgraph.providers.anthropic import AnthropicProvider

        return AnthropicProvider
    from batchgraph.providers.mistral import MistralProvider

    return MistralProvider


def open_provider(
    name: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    sandbox_dir: Path | None = None,
) -> Provider:
    """An adapter for `name` (`openai`, …, or `sandbox-openai`, … for the embedded sandbox).

    A sandbox provider starts a sandbox server inside this process on `sandbox_dir` (its state
    lives there, so later processes on the same directory see the same batches).
    """
    provider, is_sandbox = split_provider_name(name)
    if is_sandbox:
        from batchgraph.sandbox.embedded import embedded_sandbox_url

        url = embedded_sandbox_url(sandbox_dir or Path(".batchgraph") / "sandbox")
        settings = ProviderSettings(provider, SANDBOX_API_KEY, sandbox_base_url(provider, url))
    else:
        settings = resolve_settings(provider, api_key, base_url)
    return adapter_class(provider)(settings)


def sandbox_base_url(provider: str, server_url: str) -> str:
    """The base URL to give each SDK for a sandbox served at `server_url`."""
    from batchgraph.sandbox.urls import base_url_for

    return base_url_for(provider, server_url)


__all__ = ["Provider", "adapter_class", "open_provider", "sandbox_base_url"]
