"""Prompt templates over table columns: `str.format` syntax, looked up by column name.

`{column}` takes the column's value; `{price:.2f}` and `{name!r}` work as in `str.format`;
`{{` and `}}` are literal braces. Unlike `str.format`, a name is always a whole column name
(dots and brackets included), and an unknown name is reported with the columns that exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from string import Formatter

from batchgraph.errors import ConfigError

_FORMATTER = Formatter()


@dataclass(frozen=True, slots=True)
class _Field:
    literal: str
    name: str | None
    spec: str | None
    conversion: str | None


class PromptTemplate:
    """A parsed template; `render` fills it from one row."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            parts = list(_FORMATTER.parse(text))
        except ValueError as err:
            raise ConfigError(
                f"prompt template {text!r}: {err} — write {{column}} for a column and "
                "{{ or }} for a literal brace"
            ) from err
        self._parts = tuple(_Field(*part) for part in parts)
        for part in self._parts:
            if part.name == "" or (part.name is not None and part.name.isdigit()):
                raise ConfigError(
                    f"prompt template {text!r}: {{{part.name}}} does not name a column — "
                    "write the column's name inside the braces, e.g. {question}"
                )

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names the template uses, in order of first use."""
        names = (part.name for part in self._parts if part.name is not None)
        return tuple(dict.fromkeys(names))

    def unknown_columns(self, columns: Sequence[str]) -> list[str]:
        have = set(columns)
        return [name for name in self.columns if name not in have]

    def render(self, row: Mapping[str, object]) -> str:
        """Fill the template; a missing value (null) becomes an empty string.

        Raises `ValueError` when a value does not fit its format spec.
        """
        out: list[str] = []
        for part in self._parts:
            out.append(part.literal)
            if part.name is None:
                continue
            value = row.get(part.name)
            if value is None:
                value = ""
            if part.conversion is not None:
                value = _FORMATTER.convert_field(value, part.conversion)
            try:
                out.append(format(value, part.spec or ""))
            except (ValueError, TypeError) as err:
                raise ValueError(
                    f"column {part.name!r} value {value!r} does not fit {{{part.name}:{part.spec}}}"
                ) from err
        return "".join(out)
