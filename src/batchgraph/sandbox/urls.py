"""Where each personality lives on the sandbox server, and what base URL to give its SDK."""

from __future__ import annotations

from batchgraph.sandbox.personalities import PERSONALITIES

PREFIXES = {name: personality.prefix for name, personality in PERSONALITIES.items()}
"""Each personality is served under its own prefix on one port."""


def base_url_for(personality: str, server_url: str) -> str:
    """The `base_url` (OpenAI, Anthropic), `server_url` (Mistral) or `azure_endpoint` (Azure)
    for that personality's SDK: the prefix, plus the path the SDK expects in it (`/v1` for
    OpenAI's; Anthropic's and Mistral's add `/v1` themselves)."""
    found = PERSONALITIES[personality]
    return server_url.rstrip("/") + found.prefix + found.sdk_path
