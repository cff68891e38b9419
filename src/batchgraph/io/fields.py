"""Checks of single values (ids, numbers, messages) shared by every line format.

Each check reports into the line's `Issues` with the fix, and returns the clean value or None.
"""

from __future__ import annotations

from batchgraph.io.problems import Issues
from batchgraph.model import JSON

TEMPERATURE_MAX = 2.0
_SYSTEM_ROLES = {"system", "developer"}
_TURN_ROLES = {"user", "assistant"}


def check_id(value: JSON, key: str, issues: Issues) -> str | None:
    """Any non-empty string; JSON numbers become strings."""
    if isinstance(value, str):  # first, as almost every id is one
        text = value
    elif value is None:
        issues.add(f'missing "{key}"', f'add "{key}": "<unique id>" to the line')
        return None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        issues.add(f'"{key}" is {_kind(value)}', f'make "{key}" a string such as "row-1"')
        return None
    else:
        text = str(value)
    if not text.strip():
        issues.add(f'"{key}" is empty', f'give "{key}" a non-empty value')
        return None
    return text


def check_model(value: JSON, issues: Issues) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        issues.add(f'"model" is {_kind(value)}', 'make "model" a model name such as "gpt-4o-mini"')
        return None
    return value


def check_max_tokens(value: JSON, key: str, issues: Issues) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        issues.add(f'"{key}" is {value!r}', f'set "{key}" to a whole number of at least 1')
        return None
    return value


def check_temperature(value: JSON, issues: Issues) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.add(f'"temperature" is {_kind(value)}', 'make "temperature" a number such as 0.7')
        return None
    if not 0 <= value <= TEMPERATURE_MAX:
        issues.add(
            f'"temperature" is {value!r}', f'set "temperature" between 0 and {TEMPERATURE_MAX:g}'
        )
        return None
    return float(value)


def check_text(value: JSON, key: str, issues: Issues) -> str | None:
    """A string that is not blank (a prompt, a system prompt, an embedding input)."""
    if value is None:
        return None
    if not isinstance(value, str):
        issues.add(f'"{key}" is {_kind(value)}', f'make "{key}" a string')
        return None
    if not value.strip():
        issues.add(f'empty "{key}"', f'write some text in "{key}" or remove the line')
        return None
    return value


def check_messages(value: JSON, issues: Issues) -> tuple[dict[str, JSON], ...] | None:
    """Chat messages in the common (chat-completions) shape, kept as given: system, developer,
    user, assistant and tool messages; content as text or a list of text and image parts;
    assistant `tool_calls`; a tool message's `tool_call_id`."""
    plain = _plain_turns(value)
    if plain is not None:
        return plain
    if not isinstance(value, list) or not value:
        issues.add(
            '"messages" is not a list of messages',
            'write "messages": [{"role": "user", "content": "..."}]',
        )
        return None
    before = len(issues)
    for position, message in enumerate(value):
        where = f"messages[{position}]"
        if not isinstance(message, dict):
            issues.add(f"{where} is {_kind(message)}", 'write {"role": "user", "content": "..."}')
            continue
        _check_message(message, where, issues)
    if len(issues) != before:
        return None
    if not any(_says_something(message) for message in value):
        issues.add("empty prompt", 'add a "user" message with some text')
        return None
    return tuple(value)


def _says_something(message: dict[str, JSON]) -> bool:
    """A turn with text, parts or tool calls (system prompts alone are no prompt)."""
    if message.get("role") in _SYSTEM_ROLES:
        return False
    content = message.get("content")
    return bool(
        content.strip() if isinstance(content, str) else content or message.get("tool_calls")
    )


def messages_as_written(value: JSON, issues: Issues) -> tuple[dict[str, JSON], ...] | None:
    """The messages of a provider's own batch line, as given: what is in them is for the
    provider to judge, so only their being a list of objects is checked."""
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        return tuple(value)
    issues.add(
        '"messages" is not a list of messages',
        'write "messages": [{"role": "user", "content": "..."}]',
    )
    return None


def has_system_message(messages: tuple[dict[str, JSON], ...]) -> bool:
    return any(message.get("role") in _SYSTEM_ROLES for message in messages)


def _check_message(message: dict[str, JSON], where: str, issues: Issues) -> None:
    role = message.get("role")
    content = message.get("content")
    if not isinstance(role, str) or role not in _ROLES:
        given = message.get("role")
        issues.add(f"{where} has role {given!r}", f"use one of {', '.join(_ROLES)}")
        return
    if role == "assistant" and content is None and message.get("tool_calls"):
        _check_tool_calls(message.get("tool_calls"), where, issues)
        return
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        issues.add(
            f'{where} (a tool result) has no "tool_call_id"',
            'add the "id" of the tool call it answers as "tool_call_id"',
        )
    if isinstance(content, str):
        pass
    elif isinstance(content, list) and content:
        for index, part in enumerate(content):
            problem = _part_problem(part)
            if problem is not None:
                issues.add(f"{where}.content[{index}] {problem}", _PART_FIX)
    else:
        issues.add(f"{where}.content is {_kind(content)}", "make the content a string")
    if "tool_calls" in message:
        _check_tool_calls(message.get("tool_calls"), where, issues)


_ROLES = ("system", "developer", "user", "assistant", "tool")
_PART_FIX = (
    'write parts as {"type": "text", "text": "..."} or '
    '{"type": "image_url", "image_url": {"url": "https://... or data:image/png;base64,..."}}'
)


def _part_problem(part: JSON) -> str | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return None if isinstance(part.get("text"), str) else "has no text"
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str) and url.startswith(("http://", "https://", "data:image/")):
            return None
        return "has no image URL (http(s) or a data:image/...;base64 URL)"
    return f"is of type {kind!r}, not text or image_url"


def _check_tool_calls(value: JSON, where: str, issues: Issues) -> None:
    fix = 'write [{"id": ..., "type": "function", "function": {"name": ..., "arguments": "{}"}}]'
    if not isinstance(value, list) or not value:
        issues.add(f"{where}.tool_calls is not a list of calls", fix)
        return
    for call in value:
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(function, dict)
            or not isinstance(call.get("id"), str)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            issues.add(f"{where}.tool_calls holds a call without id, name or arguments", fix)
            return


def _plain_turns(value: JSON) -> tuple[dict[str, JSON], ...] | None:
    """The usual messages, which need no checks: user and assistant messages with string
    content, not all of it blank. None for anything else, to be checked message by message.
    """
    if not isinstance(value, list):
        return None
    text = False
    for message in value:
        if not isinstance(message, dict) or len(message) != 2:
            return None
        role = message.get("role")
        content = message.get("content")
        if not isinstance(role, str) or role not in _TURN_ROLES or not isinstance(content, str):
            return None
        text = text or bool(content.strip())
    return tuple(value) if text else None


def check_unknown_keys(
    data: dict[str, JSON], allowed: tuple[str, ...], issues: Issues, where: str = ""
) -> None:
    # A plain loop first: every key is known on almost every line, and needs no list then.
    for key in data:
        if key not in allowed:
            _unknown_keys(data, allowed, issues, where)
            return


def _unknown_keys(
    data: dict[str, JSON], allowed: tuple[str, ...], issues: Issues, where: str
) -> None:
    unknown = [key for key in data if key not in allowed]
    names = ", ".join(f'"{key}"' for key in unknown)
    noun = "parameter" if len(unknown) == 1 else "parameters"
    issues.add(f"unknown {noun} {names}{where}", f"use only: {', '.join(allowed)}")


def _kind(value: JSON) -> str:
    """A short description of a JSON value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return "an empty string" if not value else f"a string ({value[:30]!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, list):
        return "a list"
    return "an object"
