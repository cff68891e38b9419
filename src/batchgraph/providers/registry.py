"""The one table of providers: everything that needs a list of them reads it here.

The CLI's help, credential lookup (`settings`), planning (caps), validation (features), pricing
(the price table's key), the embedded sandbox (the personality serving the provider) and the
tests all read `SPECS`; no other module names a provider.

Adding a provider
-----------------
Append one `ProviderSpec` to `SPECS` below. A provider that speaks a protocol we already have
(an OpenAI-compatible batch host, say) needs nothing else but its prices in
`pricing/prices.toml` and a sandbox personality in `sandbox/personalities.py`; a new protocol
also brings its adapter module (`providers/<name>.py`, a `Provider` subclass) and its sandbox
module. The fields:

    ProviderSpec(
        name="groq",                                  # what --provider takes
        title="Groq",                                 # how messages and tables name it
        adapter="batchgraph.providers.openai:OpenAIProvider",   # imported only when used
        key_env=("GROQ_API_KEY",),                    # first one set wins
        base_url_env="GROQ_BASE_URL",                 # overrides `default_base_url`
        default_base_url="https://api.groq.com/openai/v1",      # None: the SDK's own default
        sandbox="groq",                               # personality in sandbox/personalities.py
        caps=Caps(max_requests=50_000, max_bytes=95_000_000),
        price_key="groq",                             # table name in prices.toml
        features=Features(embeddings=False),          # what its batches accept
        example_model="llama-3.1-8b-instant",         # used by docs, the demo and tests
        options={"completion_window": "24h"},         # read by the adapter, overridable by env
    )

Adapters are imported lazily (`adapter_class`), so commands such as `status` never import an SDK.
Each provider gets its own adapter class (a subclass of the protocol's adapter carrying the
spec, its name and caps), so that several hosts share one protocol module.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from batchgraph.errors import ConfigError

if TYPE_CHECKING:
    from batchgraph.providers.base import Provider

SANDBOX_PREFIX = "sandbox-"
"""`sandbox-<name>` points provider `<name>` at the embedded sandbox."""


@dataclass(frozen=True, slots=True)
class Caps:
    """What one provider batch may hold; planners stay under these."""

    max_requests: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Features:
    """Which requests a provider's batches accept; validation refuses the others up front."""

    structured_output: bool = True
    """JSON-schema answers (`output_schema`)."""
    embeddings: bool = False
    tools: bool = False
    batch: bool = True
    """It has a Batch API (hosts without one run through a synchronous executor)."""
    sync: bool = False
    """Its synchronous API can be called directly (estimates, hedging, `--mode sync`)."""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider or host; see the module docstring for an example of every field."""

    name: str
    title: str
    adapter: str
    """`module:Class` of the adapter, imported only when the provider is used."""
    key_env: tuple[str, ...]
    base_url_env: str | None
    sandbox: str
    """The sandbox personality (in `batchgraph.sandbox.personalities`) that stands in for it."""
    caps: Caps
    price_key: str
    example_model: str
    features: Features = Features()
    default_base_url: str | None = None
    base_url_required: bool = False
    """The provider has no default address (Azure: each resource has its own endpoint)."""
    own_server: bool = False
    """The host is the user's own server (a local OpenAI-compatible one): its address is given
    with `--base-url` and the variable holding its key, if it needs one, with `--api-key-env`;
    both are stored with the job (never the key), so it resumes without them. Other providers
    refuse those flags and read their variables instead."""
    key_required: bool = True
    """Whether a call needs a key; without one, a placeholder is sent (the SDK wants a string)."""
    options: Mapping[str, str] = field(default_factory=dict)
    """Adapter settings with their defaults (`completion_window`, `api_version`, …)."""
    option_env: Mapping[str, str] = field(default_factory=dict)
    """Environment variables that override `options`, by option name."""


_OPENAI = "batchgraph.providers.openai:OpenAIProvider"

SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        name="openai",
        title="OpenAI",
        adapter=_OPENAI,
        key_env=("OPENAI_API_KEY",),
        base_url_env="OPENAI_BASE_URL",
        sandbox="openai",
        # OpenAI allows 50,000 requests and a 200 MB file; the byte cap keeps a margin for
        # either reading of "MB".
        caps=Caps(max_requests=50_000, max_bytes=190_000_000),
        price_key="openai",
        example_model="gpt-4o-mini",
        features=Features(embeddings=True, tools=True, sync=True),
        options={"completion_window": "24h"},
    ),
    ProviderSpec(
        name="anthropic",
        title="Anthropic",
        adapter="batchgraph.providers.anthropic:AnthropicProvider",
        key_env=("ANTHROPIC_API_KEY",),
        base_url_env="ANTHROPIC_BASE_URL",
        sandbox="anthropic",
        # Anthropic allows 100,000 requests or 256 MB; the byte cap keeps room for the
        # envelope and for either reading of "MB".
        caps=Caps(max_requests=100_000, max_bytes=250_000_000),
        price_key="anthropic",
        example_model="claude-haiku-4-5",
        features=Features(tools=True, sync=True),
    ),
    ProviderSpec(
        name="mistral",
        title="Mistral",
        adapter="batchgraph.providers.mistral:MistralProvider",
        key_env=("MISTRAL_API_KEY",),
        base_url_env="MISTRAL_BASE_URL",
        sandbox="mistral",
        # Mistral's known-limitations page gives 100,000 requests and 512 MB per batch file
        # (its API reference caps only inline jobs and pending requests per workspace). We keep
        # 5 % off the count and take 500,000,000 bytes, under 512 MB for either reading of
        # "MB", leaving room for the multipart framing of the upload.
        caps=Caps(max_requests=95_000, max_bytes=500_000_000),
        price_key="mistral",
        example_model="mistral-small-latest",
        features=Features(embeddings=True, tools=True, sync=True),
    ),
    ProviderSpec(
        name="gemini",
        title="Gemini",
        adapter="batchgraph.providers.gemini:GeminiProvider",
        key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        base_url_env="GEMINI_BASE_URL",
        sandbox="gemini",
        # Gemini takes input files up to 2 GB and names no request limit per batch; we keep to
        # 100,000 requests (as Anthropic's cap) so one results file stays a manageable download,
        # and to 1.9 GB, under 2 GB for either reading of "GB".
        caps=Caps(max_requests=100_000, max_bytes=1_900_000_000),
        price_key="gemini",
        example_model="gemini-2.5-flash",
        features=Features(embeddings=True),
    ),
    # OpenAI-protocol hosts: each is an entry here, its prices and a sandbox personality.
    ProviderSpec(
        name="azure-openai",
        title="Azure OpenAI",
        adapter="batchgraph.providers.azure_openai:AzureOpenAIProvider",
        key_env=("AZURE_OPENAI_API_KEY",),
        base_url_env="AZURE_OPENAI_ENDPOINT",
        base_url_required=True,
        sandbox="azure-openai",
        # Global batch: 100,000 requests and 200 MB per input file.
        caps=Caps(max_requests=100_000, max_bytes=190_000_000),
        price_key="azure-openai",
        example_model="gpt-4o-mini",
        features=Features(embeddings=True, sync=True),
        options={"completion_window": "24h", "api_version": "2024-10-21"},
        option_env={"api_version": "OPENAI_API_VERSION"},
    ),
    ProviderSpec(
        name="groq",
        title="Groq",
        adapter=_OPENAI,
        key_env=("GROQ_API_KEY",),
        # Not GROQ_BASE_URL: the `groq` SDK reads that without the `/openai/v1` we need.
        base_url_env="BATCHGRAPH_GROQ_BASE_URL",
        default_base_url="https://api.groq.com/openai/v1",
        sandbox="groq",
        # 50,000 lines and 100 MB per input file; windows from 24h to 7d.
        caps=Caps(max_requests=50_000, max_bytes=95_000_000),
        price_key="groq",
        example_model="llama-3.1-8b-instant",
        features=Features(sync=True),
        options={"completion_window": "24h"},
        option_env={"completion_window": "BATCHGRAPH_GROQ_COMPLETION_WINDOW"},
    ),
    ProviderSpec(
        name="together",
        title="Together",
        adapter=_OPENAI,
        key_env=("TOGETHER_API_KEY",),
        base_url_env="TOGETHER_BASE_URL",
        default_base_url="https://api.together.xyz/v1",
        sandbox="together",
        # 50,000 requests and 100 MB per input file; a best-effort 24h window.
        caps=Caps(max_requests=50_000, max_bytes=95_000_000),
        price_key="together",
        example_model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
        features=Features(sync=True),
        options={"completion_window": "24h", "batch_purpose": "batch-api"},
    ),
    ProviderSpec(
        name="openrouter",
        title="OpenRouter",
        adapter="batchgraph.providers.openai_hosts:OpenRouterProvider",
        key_env=("OPENROUTER_API_KEY",),
        base_url_env="OPENROUTER_BASE_URL",
        default_base_url="https://openrouter.ai/api/v1",
        sandbox="openrouter",
        # No Batch API: chunks are units of synchronous work, not provider batches.
        caps=Caps(max_requests=1_000, max_bytes=100_000_000),
        price_key="openrouter",
        example_model="meta-llama/llama-3.3-70b-instruct:free",
        features=Features(batch=False, sync=True),
    ),
    ProviderSpec(
        name="openai-compatible",
        title="OpenAI-compatible server",
        adapter="batchgraph.providers.openai_hosts:OwnServerProvider",
        # Read only when the job names no variable with --api-key-env; none is needed at all
        # by a server started without a key (vLLM, Ollama, LM Studio, llama.cpp by default).
        key_env=("OPENAI_COMPATIBLE_API_KEY",),
        key_required=False,
        base_url_env=None,
        base_url_required=True,
        own_server=True,
        sandbox="local",
        # No Batch API: chunks are units of synchronous work, not provider batches.
        caps=Caps(max_requests=1_000, max_bytes=100_000_000),
        # A "*" entry prices every model at $0 until the user's price file names costs.
        price_key="openai-compatible",
        example_model="llama3.1:8b",
        features=Features(batch=False, sync=True, embeddings=True, tools=True),
    ),
)
"""Every provider, in the order the CLI lists them."""


def real_names() -> list[str]:
    """The real providers' names, in table order."""
    return [spec.name for spec in SPECS]


def names() -> list[str]:
    """The provider names `--provider` takes, real ones first, then their sandboxes."""
    real = real_names()
    return [*real, *(SANDBOX_PREFIX + name for name in real)]


def split_name(name: str) -> tuple[ProviderSpec, bool]:
    """`sandbox-groq` -> (groq's spec, True); `groq` -> (groq's spec, False).

    An unknown name is a `ConfigError` listing the known ones.
    """
    is_sandbox = name.startswith(SANDBOX_PREFIX)
    base = name.removeprefix(SANDBOX_PREFIX)
    for spec in SPECS:
        if spec.name == base:
            return spec, is_sandbox
    raise ConfigError(f"unknown provider {name!r}; choose one of: {', '.join(names())}")


def spec_for(name: str) -> ProviderSpec:
    """The spec of a provider name, with or without the `sandbox-` prefix."""
    return split_name(name)[0]


def adapter_class(name: str) -> type[Provider]:
    """The adapter class for a provider name (`groq`, `sandbox-groq`, …), without credentials."""
    return _bound(spec_for(name).name)


@functools.cache
def _bound(name: str) -> type[Provider]:
    """The protocol's adapter class specialised to one spec: its name, caps and options."""
    spec = spec_for(name)
    module_name, _, class_name = spec.adapter.partition(":")
    base = cast("type[Provider]", getattr(importlib.import_module(module_name), class_name))
    if base.spec is spec:
        return base
    attributes = {"spec": spec, "name": spec.name, "caps": spec.caps, "__module__": base.__module__}
    return cast("type[Provider]", type(f"{base.__name__}[{spec.name}]", (base,), attributes))


__all__ = [
    "SANDBOX_PREFIX",
    "SPECS",
    "Caps",
    "Features",
    "ProviderSpec",
    "adapter_class",
    "names",
    "real_names",
    "spec_for",
    "split_name",
]
