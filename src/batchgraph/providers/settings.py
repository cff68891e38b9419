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
NO_KEY = "no-key"
"""Sent to a server that needs no key: the `openai` SDK refuses to build a client without one."""


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """Everything needed to reach one provider. `api_key` never appears in a repr."""

    provider: str
    api_key: str = field(repr=False)
    base_url: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    """The provider's adapter options (`ProviderSpec.options`, overridden from the environment)."""


@dataclass(frozen=True, slots=True)
class HostAddress:
    """Where the user's own server is (`--base-url`) and which environment variable holds its
    key (`--api-key-env`). Stored with the job — the variable's name, never the key — so that
    `run --job` and `collect` reach the same server without the flags."""

    base_url: str | None = None
    api_key_env: str | None = None

    def __bool__(self) -> bool:
        return bool(self.base_url or self.api_key_env)

    def to_json(self) -> dict[str, str]:
        """As stored in the job's spec; the variable is `key_variable` (the store refuses
        option names that look like credentials, and a variable's name is not one)."""
        stored = {"base_url": self.base_url, "key_variable": self.api_key_env}
        return {name: value for name, value in stored.items() if value}

    @classmethod
    def from_json(cls, data: Mapping[str, str] | None) -> HostAddress:
        data = data or {}
        return cls(data.get("base_url"), data.get("key_variable"))


def check_address(provider: str, address: HostAddress) -> None:
    """Refuse `--base-url` / `--api-key-env` where they do not belong, and a missing
    `--base-url` where it does, before anything is stored or sent."""
    spec, is_sandbox = split_name(provider)
    flags = [
        f
        for f, v in (("--base-url", address.base_url), ("--api-key-env", address.api_key_env))
        if v
    ]
    if spec.own_server and not is_sandbox:
        if not address.base_url:
            raise ConfigError(
                f"{spec.name} needs the address of your server: add --base-url URL (e.g. "
                "http://localhost:8000/v1 for vLLM, http://localhost:11434/v1 for Ollama; "
                "base_url= in Python)"
            )
        if not address.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--base-url {address.base_url}: write the whole address, with http:// or "
                "https:// and the API's path (e.g. http://localhost:8000/v1)"
            )
        return
    if flags:
        where = (
            f"the sandbox serves {provider} itself"
            if is_sandbox
            else f"{spec.name} reads its address and key from "
            + " / ".join(v for v in (spec.base_url_env, *spec.key_env) if v)
        )
        own = ", ".join(s.name for s in SPECS if s.own_server)
        raise ConfigError(
            f"{' and '.join(flags)} belong to --provider {own} (your own server); {where}: "
            f"drop {' and '.join(flags)}"
        )


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
    api_key_env: str | None = None,
) -> ProviderSettings:
    """Settings for a real provider: the arguments, else its registry entry's environment
    variables (`key_env`, `base_url_env`, `option_env`), else its defaults. `api_key_env`
    names the variable holding the key of the user's own server instead.

    Raises `ConfigError` naming the variable to set when the key (or a required address) is
    missing, so a job can be refused before anything is stored.
    """
    env = os.environ if environ is None else environ
    spec, _ = split_name(provider)
    if api_key_env and not api_key and not env.get(api_key_env):
        raise ConfigError(
            f"--api-key-env {api_key_env}: the variable {api_key_env} is not set; set it to "
            "the server's key, or drop --api-key-env for a server that needs none"
        )
    key_env = (api_key_env,) if api_key_env else spec.key_env
    key = api_key or next((env[name] for name in key_env if env.get(name)), None)
    if not key and not spec.key_required:
        key = NO_KEY
    if not key:
        variables = " or ".join(spec.key_env)
        raise ConfigError(
            f"no API key for {spec.name}: set {variables} "
            f"(or try the offline sandbox with --provider {SANDBOX_PREFIX}{spec.name})"
        )
    url = base_url or (env.get(spec.base_url_env) if spec.base_url_env else None)
    if not url and spec.own_server:
        check_address(spec.name, HostAddress())  # names --base-url
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
