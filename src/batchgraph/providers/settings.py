"""Where a provider's key and address come from: explicit arguments, then the environment.

Keys are read here and nowhere else, and are never written to the store, logs or results. Which
variables hold them is the registry's business (`ProviderSpec.key_env`, `base_url_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from batchgraph.errors import ConfigError
from batchgraph.providers.registry import SANDBOX_PREFIX, SPECS, ProviderSpec, split_name

PROVIDERS = tuple(spec.name for spec in SPECS)
"""The real providers; `sandbox-<name>` points one of them at the embedded sandbox."""

SANDBOX_API_KEY = "sandbox-key"


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """Everything needed to reach one provider. `api_key` never appears in a repr."""

    provider: str
    api_key: str = field(repr=False)
    base_url: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    """The provider's adapter options (`ProviderSpec.options`, overridden from the environment)."""


def split_provider_name(name: str) -> tuple[str, bool]:
    """`sandbox-openai` -> ("openai", True); `openai` -> ("openai", False); unknown: an error
    listing the known names."""
    spec, is_sandbox = split_name(name)
    return spec.name, is_sandbox


def resolve_settings(
    provider: str,
    api_key: str | None = None,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ProviderSettings:
    """Settings for a real provider: the arguments, else its registry entry's environment
    variables (`key_env`, `base_url_env`, `option_env`), else its defaults.

    Raises `ConfigError` naming the variable to set when the key (or a required address) is
    missing, so a job can be refused before anything is stored.
    """
    env = os.environ if environ is None else environ
    spec, _ = split_name(provider)
    key = api_key or next((env[name] for name in spec.key_env if env.get(name)), None)
    if not key:
        variables = " or ".join(spec.key_env)
        raise ConfigError(
            f"no API key for {spec.name}: set {variables} "
            f"(or try the offline sandbox with --provider {SANDBOX_PREFIX}{spec.name})"
        )
    url = base_url or (env.get(spec.base_url_env) if spec.base_url_env else None)
    if not url and spec.base_url_required:
        raise ConfigError(
            f"no address for {spec.name}: set {spec.base_url_env} to its endpoint "
            f"(or try the offline sandbox with --provider {SANDBOX_PREFIX}{spec.name})"
        )
    return ProviderSettings(
        spec.name, key, url or spec.default_base_url, options=spec_options(spec, env)
    )


def spec_options(spec: ProviderSpec, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The spec's adapter options, each replaced by its environment variable when that is set."""
    env = os.environ if environ is None else environ
    options = dict(spec.options)
    for option, variable in spec.option_env.items():
        if env.get(variable):
            options[option] = env[variable]
    return options
