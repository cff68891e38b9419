"""The guard that keeps credentials out of the database.

A job's `spec` is the user's options, written to the store as they are. API keys are read from
the environment or a flag at run time (`providers.settings`), so a spec entry that looks like a
credential is a mistake; refusing it here means no key can end up on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchgraph.errors import ConfigError
from batchgraph.model import JSON

_SECRET_NAME = re.compile(
    r"(^|[_\-.])(api_?key|apikey|secret|secret_?key|password|passwd|passphrase|authorization"
    r"|auth_?token|api_?token|access_?token|refresh_?token|bearer|credentials?|private_?key)($|[_\-.])",
    re.IGNORECASE,
)
"""Option names that name a credential (`api_key`, `openai-api-key`, `apiKey`, …)."""

_SECRET_VALUE = re.compile(r"^(sk|rk|pk)-[A-Za-z0-9_\-]{16,}$|^Bearer\s+\S{8,}$")
"""Values shaped like a provider key (`sk-…`, `sk-ant-…`) or an Authorization header."""


def _normalise(name: str) -> str:
    """`openaiApiKey` -> `openai_api_key`, so camelCase names are caught too."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_")


def _walk(value: JSON, path: str) -> Iterator[tuple[str, JSON]]:
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, item
            yield from _walk(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def refuse_secrets(spec: dict[str, JSON]) -> None:
    """Raise `ConfigError` when any key or value of `spec` looks like a credential."""
    for path, value in _walk(spec, ""):
        name = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if _SECRET_NAME.search(_normalise(name)):
            raise ConfigError(
                f"job option {path!r} looks like a credential and would be stored in the "
                "database; pass API keys through the environment instead (e.g. "
                "OPENAI_API_KEY), and remove it from the job options"
            )
        if isinstance(value, str) and _SECRET_VALUE.match(value.strip()):
            raise ConfigError(
                f"job option {path!r} holds what looks like an API key and would be stored "
                "in the database; pass keys through the environment instead (e.g. OPENAI_API_KEY)"
            )
