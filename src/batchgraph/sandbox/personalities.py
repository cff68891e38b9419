"""Who the sandbox pretends to be: one personality per provider or host, each under its prefix.

A personality is served by a protocol module (`batchgraph.sandbox.<protocol>`: `openai`,
`anthropic`, `mistral`, …) and carries the differences a client notices between hosts of the
same protocol: where the SDK's base URL points, which header holds the key, the size caps and
completion windows it accepts. The client side's registry names a personality for each provider
(`ProviderSpec.sandbox`); this table is the sandbox's own, so the sandbox imports nothing of the
client.

Adding an OpenAI-compatible host is one entry here, e.g.

    Personality("groq", "openai", sdk_path="/openai/v1", api_root="/openai/v1",
                max_bytes=100 * MiB, completion_windows=("24h", "48h", "72h", "7d")),
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Personality:
    """One provider as the sandbox serves it, at `/<name>` on the sandbox's port."""

    name: str
    """The namespace of its files and batches in the sandbox's store; its prefix is `/<name>`
    unless `mount` says otherwise."""
    protocol: str
    """The module under `batchgraph.sandbox` that serves it."""
    mount: str = ""
    """Its prefix when that is not `/<name>` (OpenRouter lives at `/openrouter/api`)."""
    sdk_path: str = ""
    """What the SDK's base URL adds after the prefix (`/v1` for the `openai` SDK)."""
    key_headers: tuple[str, ...] = ("authorization", "x-api-key")
    """Headers that may carry the key; a call without one of them is refused with 401 (none:
    every call is taken, as by a local server started without a key)."""
    # The rest is read by the OpenAI protocol only.
    api_root: str = "/v1"
    """Where the Files and Batch routes live under the prefix."""
    batch_url_root: str = "/v1"
    """What batch endpoints and input lines' urls start with (`/v1/chat/completions`)."""
    api_version: bool = False
    """Every call must carry an `api-version` query parameter (Azure)."""
    batch_purpose: str = "batch"
    """The purpose a batch input file is uploaded with."""
    max_requests: int = 50_000
    max_bytes: int = 200 * MiB
    completion_windows: tuple[str, ...] = ("24h",)
    """The windows a create call may ask for, shortest first."""

    @property
    def prefix(self) -> str:
        return self.mount or "/" + self.name


PERSONALITIES: dict[str, Personality] = {
    p.name: p
    for p in (
        Personality("openai", "openai", sdk_path="/v1"),
        Personality("anthropic", "anthropic"),
        Personality("mistral", "mistral"),
        Personality("openrouter", "openrouter", mount="/openrouter/api", sdk_path="/v1"),
        Personality("local", "local", sdk_path="/v1", key_headers=()),
        Personality("gemini", "gemini", key_headers=("x-goog-api-key",)),
        # Hosts of OpenAI's protocol, as their clients see them.
        Personality(
            "azure-openai",
            "openai",
            key_headers=("api-key",),
            api_root="/openai",
            batch_url_root="",
            api_version=True,
            max_requests=100_000,
        ),
        Personality(
            "groq",
            "openai",
            sdk_path="/openai/v1",
            api_root="/openai/v1",
            max_bytes=100 * MiB,
            completion_windows=("24h", "48h", "72h", "7d"),
        ),
        Personality(
            "together", "openai", sdk_path="/v1", max_bytes=100 * MiB, batch_purpose="batch-api"
        ),
    )
}
"""Every personality served, by name."""


def window_seconds(window: str) -> int:
    """`24h` -> 86400, `7d` -> 604800."""
    units = {"h": 3600, "d": 86400}
    return int(window[:-1]) * units[window[-1]]
