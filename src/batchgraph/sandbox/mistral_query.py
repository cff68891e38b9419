"""Query parameters of the sandbox's Mistral routes, refused in FastAPI's words when wrong."""

from __future__ import annotations

import math

from batchgraph.sandbox.mistral_errors import invalid_query


def check_choices(name: str, values: list[str], choices: tuple[str, ...]) -> tuple[str, ...]:
    """A repeatable enum parameter's values, each checked."""
    for value in values:
        if value not in choices:
            raise invalid_query(name, f"Input should be {choices_text(choices)}", "enum", value)
    return tuple(values)


def query_int(
    name: str, value: str | None, default: int, low: int = 0, high: float = math.inf
) -> int:
    """An integer query parameter, refused in FastAPI's words when it is not one or out of range."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        msg = "Input should be a valid integer, unable to parse string as an integer"
        raise invalid_query(name, msg, "int_parsing", value) from None
    if number < low:
        raise invalid_query(name, f"Input should be greater than or equal to {low}", "ge", number)
    if number > high:
        raise invalid_query(name, f"Input should be less than or equal to {high}", "le", number)
    return number


def query_bool(name: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise invalid_query(name, "Input should be a valid boolean", "bool_parsing", value)


def choices_text(choices: tuple[str, ...]) -> str:
    """`'a', 'b' or 'c'`, as pydantic lists an enum's values."""
    quoted = [f"'{c}'" for c in choices]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
