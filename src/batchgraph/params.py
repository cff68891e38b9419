"""The common request vocabulary: options beyond the prompt, named as in OpenAI's chat
completions, and the checks a plain input line's values get.

Each provider's wire module translates these names (or passes them through, or refuses them
with the reason); docs/request-fields.md is the table of what happens where. `extra` holds a
provider's own fields, `{"anthropic": {"top_k": 5}}`, merged into that provider's body only.
"""

from __future__ import annotations

from collections.abc import Callable

from batchgraph.model import JSON

REASONING_EFFORTS = ("minimal", "low", "medium", "high")
PROVIDERS_WITH_EXTRA = ("openai", "anthropic", "mistral", "gemini")


def _number(low: float, high: float) -> Callable[[JSON], str | None]:
    def check(value: JSON) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"a number from {low:g} to {high:g}"
        return None if low <= value <= high else f"a number from {low:g} to {high:g}"

    return check


def _whole(low: int) -> Callable[[JSON], str | None]:
    def check(value: JSON) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            return f"a whole number of at least {low}"
        return None

    return check


def _flag(value: JSON) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _text(value: JSON) -> str | None:
    return None if isinstance(value, str) and value else "a non-empty string"


def _stop(value: JSON) -> str | None:
    if isinstance(value, str) and value:
        return None
    if isinstance(value, list) and value and all(isinstance(s, str) and s for s in value):
        return None
    return 'a string or a list of strings, e.g. ["\\n\\n"]'


def _tools(value: JSON) -> str | None:
    fix = 'a list of {"type": "function", "function": {"name": ..., "parameters": {...}}}'
    if not isinstance(value, list) or not value:
        return fix
    for tool in value:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return fix
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            return fix
    return None


def _tool_choice(value: JSON) -> str | None:
    if value in ("auto", "none", "required"):
        return None
    function = value.get("function") if isinstance(value, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return None
    return '"auto", "none", "required" or {"type": "function", "function": {"name": ...}}'


def _response_format(value: JSON) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind in ("text", "json_object"):
        return None
    if kind == "json_schema" and isinstance(value.get("json_schema"), dict):
        return None
    return '{"type": "json_object"} (JSON mode) or {"type": "json_schema", "json_schema": {...}}'


def _effort(value: JSON) -> str | None:
    return None if value in REASONING_EFFORTS else f"one of {', '.join(REASONING_EFFORTS)}"


def _metadata(value: JSON) -> str | None:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return None
    return 'an object of strings, e.g. {"source": "crm"}'


def _extra(value: JSON) -> str | None:
    fix = 'an object per provider, e.g. {"anthropic": {"top_k": 5}}'
    if not isinstance(value, dict):
        return fix
    for provider, fields in value.items():
        if provider not in PROVIDERS_WITH_EXTRA or not isinstance(fields, dict):
            return f"{fix}, with providers among {', '.join(PROVIDERS_WITH_EXTRA)}"
    return None


CHAT_PARAMS: dict[str, Callable[[JSON], str | None]] = {
    "top_p": _number(0, 1),
    "stop": _stop,
    "seed": _whole(0),
    "tools": _tools,
    "tool_choice": _tool_choice,
    "parallel_tool_calls": _flag,
    "response_format": _response_format,
    "reasoning_effort": _effort,
    "thinking_budget": _whole(1024),
    "logprobs": _flag,
    "top_logprobs": _number(0, 20),
    "n": _whole(1),
    "metadata": _metadata,
    "service_tier": _text,
    "frequency_penalty": _number(-2, 2),
    "presence_penalty": _number(-2, 2),
    "user": _text,
    "extra": _extra,
}
"""The options a plain chat line (or `--param`) may carry, each with its check: the check
returns what the value should be, or None when it is fine."""

EMBEDDING_PARAMS: dict[str, Callable[[JSON], str | None]] = {
    "dimensions": _whole(1),
    "user": _text,
    "extra": _extra,
}
"""The options a plain embedding line may carry."""


def check_params(
    data: dict[str, JSON], allowed: dict[str, Callable[[JSON], str | None]]
) -> tuple[dict[str, JSON], list[tuple[str, str]]]:
    """The options of `data` named in `allowed`, and (problem, fix) for each bad one."""
    params: dict[str, JSON] = {}
    problems: list[tuple[str, str]] = []
    for key, check in allowed.items():
        if key not in data:
            continue
        value = data[key]
        wanted = check(value)
        if wanted is None:
            params[key] = value
        else:
            problems.append((f'"{key}" is {value!r:.60}', f'make "{key}" {wanted}'))
    return params, problems
