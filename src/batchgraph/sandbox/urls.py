"""Where each provider lives on the sandbox server, and what base URL to give its SDK."""

from __future__ import annotations

PREFIXES = {
    "openai": "/openai",
    "anthropic": "/anthropic",
    "mistral": "/mistral",
    "openrouter": "/openrouter/api",
}
"""Each provider is served under its own prefix on one port."""


def base_url_for(provider: str, server_url: str) -> str:
    """The `base_url` (OpenAI, Anthropic) or `server_url` (Mistral) for that SDK.

    OpenAI's SDK (also used for OpenRouter) wants `/v1` in the base URL; Anthropic's and
    Mistral's add `/v1` themselves.
    """
    root = server_url.rstrip("/") + PREFIXES[provider]
    return root + "/v1" if provider in ("openai", "openrouter") else root
