"""Provider adapters: one module per protocol, every provider listed in `registry.SPECS`."""

from __future__ import annotations

from pathlib import Path

from batchgraph.providers.base import Provider
from batchgraph.providers.registry import adapter_class, spec_for, split_name
from batchgraph.providers.settings import (
    SANDBOX_API_KEY,
    HostAddress,
    ProviderSettings,
    check_address,
    resolve_settings,
    spec_options,
)


def open_provider(
    name: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    sandbox_dir: Path | None = None,
    address: HostAddress | None = None,
) -> Provider:
    """An adapter for `name` (`openai`, …, or `sandbox-openai`, … for the embedded sandbox).

    A sandbox provider starts a sandbox server inside this process on `sandbox_dir` (its state
    lives there, so later processes on the same directory see the same batches). `address` is
    the user's own server's (`--base-url`, `--api-key-env`), for the hosts that take one.
    """
    address = address or HostAddress()
    if address:
        check_address(name, address)
    spec, is_sandbox = split_name(name)
    if is_sandbox:
        from batchgraph.sandbox.embedded import embedded_sandbox_url

        url = embedded_sandbox_url(sandbox_dir or Path(".batchgraph") / "sandbox")
        settings = ProviderSettings(
            spec.name, SANDBOX_API_KEY, sandbox_base_url(spec.name, url), spec_options(spec)
        )
    else:
        settings = resolve_settings(
            spec.name, api_key, base_url or address.base_url, api_key_env=address.api_key_env
        )
    return adapter_class(spec.name)(settings)


def sandbox_base_url(provider: str, server_url: str) -> str:
    """The base URL to give a provider's SDK for a sandbox served at `server_url`."""
    from batchgraph.sandbox.urls import base_url_for

    return base_url_for(spec_for(provider).sandbox, server_url)


__all__ = [
    "HostAddress",
    "Provider",
    "adapter_class",
    "check_address",
    "open_provider",
    "sandbox_base_url",
]
