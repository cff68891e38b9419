"""What base URL to give each personality's SDK (the personalities are in `personalities.py`)."""

from __future__ import annotations

from batchgraph.sandbox import personalities


def base_url_for(personality: str, server_url: str) -> str:
    """The `base_url` (OpenAI, Anthropic), `server_url` (Mistral) or `azure_endpoint` (Azure)
    for that personality's SDK: the prefix, plus the path the SDK expects in it (`/v1` for
    OpenAI's; Anthropic's and Mistral's add `/v1` themselves). The table is read at each call,
    so a test may add a personality."""
    found = personalities.PERSONALITIES[personality]
    return server_url.rstrip("/") + found.prefix + found.sdk_path
