"""Prompt templates: str.format syntax, whole column names, clear errors."""

from __future__ import annotations

import pytest

from batchgraph.errors import ConfigError
from batchgraph.io import PromptTemplate


def test_columns_are_listed_once_in_order_of_use() -> None:
    assert PromptTemplate("{b} and {a} and {b}").columns == ("b", "a")


def test_column_names_with_spaces_and_dots_are_whole_names() -> None:
    template = PromptTemplate("{first name} / {v1.2}")
    assert template.render({"first name": "Ada", "v1.2": 3}) == "Ada / 3"


def test_format_specs_conversions_and_literal_braces_work() -> None:
    template = PromptTemplate("{{x}} {price:.1f} {name!r}")
    assert template.render({"price": 2, "name": "pen"}) == "{x} 2.0 'pen'"


def test_null_values_render_as_empty_text() -> None:
    assert PromptTemplate("[{a}]").render({"a": None}) == "[]"


def test_a_value_that_does_not_fit_its_spec_names_the_column() -> None:
    with pytest.raises(ValueError, match=r"column 'price' value 'cheap' does not fit"):
        PromptTemplate("{price:.2f}").render({"price": "cheap"})


def test_unknown_columns_are_reported() -> None:
    assert PromptTemplate("{a} {b}").unknown_columns(["a"]) == ["b"]


def test_an_unbalanced_brace_is_a_config_error_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="write \\{column\\}"):
        PromptTemplate("Hello {name")
