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


def check_messages(
    value: JSON, issues: Issues
) -> tuple[tuple[dict[str, str], ...], str | None] | None:
    """Chat messages as (turns, system): system/developer messages become the system prompt."""
    plain = _plain_turns(value)
    if plain is not None:
        return plain, None
    if not isinstance(value, list) or not value:
        issues.add(
            '"messages" is not a list of messages',
            'write "messages": [{"role": "user", "content": "..."}]',
        )
        return None
    turns: list[dict[str, str]] = []
    systems: list[str] = []
    before = len(issues)
    for position, message in enumerate(value):
        where = f"messages[{position}]"
        if not isinstance(message, dict):
            issues.add(f"{where} is {_kind(message)}", 'write {"role": "user", "content": "..."}')
            continue
        role = message.get("role")
        role = role if isinstance(role, str) else None  # a list or an object is no role
        content = _content_text(message.get("content"), where, issues)
        if role in _SYSTEM_ROLES:
            if content is not None:
                systems.append(content)
        elif role in _TURN_ROLES:
            if content is not None:
                turns.append({"role": str(role), "content": content})
        else:
            given = message.get("role")
            issues.add(f"{where} has role {given!r}", 'use "system", "user" or "assistant"')
    if len(issues) != before:
        return None
    if not any(turn["content"].strip() for turn in turns):
        issues.add("empty prompt", 'add a "user" message with some text')
        return None
    return tuple(turns), "\n\n".join(systems) if systems else None


def _plain_turns(value: JSON) -> tuple[dict[str, str], ...] | None:
    """The turns of the usual messages, which need no checks: user and assistant messages with
    string content, not all of it blank. None for anything else, to be checked message by message.
    """
    if not isinstance(value, list):
        return None
    turns: list[dict[str, str]] = []
    text = False
    for message in value:
        if not isinstance(message, dict):
            return None
        role = message.get("role")
        content = message.get("content")
        if not isinstance(role, str) or role not in _TURN_ROLES or not isinstance(content, str):
            return None
        turns.append({"role": role, "content": content})
        text = text or bool(content.strip())
    return tuple(turns) if text else None


def _content_text(content: JSON, where: str, issues: Issues) -> str | None:
    """Message content: a string, or OpenAI-style text parts joined together."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content:
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        if len(texts) == len(content) and all(isinstance(text, str) for text in texts):
            return "".join(str(text) for text in texts)
        issues.add(
            f"{where}.content has parts other than text",
            "send text only (images are not supported)",
        )
        return None
    issues.add(f"{where}.content is {_kind(content)}", "make the content a string")
    return None


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
