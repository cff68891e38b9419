"""Every flag a message suggests exists: the messages' `--flags` are walked against the CLI."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer

import batchgraph
from batchgraph.cli import app
from batchgraph.errors import ConfigError
from batchgraph.io.template import PromptTemplate

SOURCE = Path(batchgraph.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def cli_options() -> set[str]:
    """Every long option of every command and subcommand of `batchgraph`."""
    options: set[str] = set()
    root = typer.main.get_command(app)
    pending: list[click.Command] = [root]
    while pending:
        command = pending.pop()
        for param in command.params:
            options.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        if isinstance(command, click.Group) or hasattr(command, "commands"):
            pending.extend(command.commands.values())  # type: ignore[attr-defined]
    return options


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of string constants that are docstrings (not messages)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for statement in body:
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                    found.add(id(statement.value))
    return found


def suggested_flags() -> Iterator[tuple[str, str]]:
    """(flag, where) for every `--flag` in a string of the package that is not a docstring."""
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in skip:
                    continue
                for flag in FLAG.findall(node.value):
                    yield flag, f"{path.relative_to(SOURCE)}:{node.lineno}"


def test_the_walk_finds_the_options_and_the_suggestions() -> None:
    options = cli_options()
    assert {"--provider", "--prompt-template", "--embeddings", "--time-scale"} <= options
    assert {flag for flag, _ in suggested_flags()} >= {"--model", "--prompt-template"}


def test_every_flag_a_message_suggests_exists() -> None:
    options = cli_options()
    missing = [f"{flag} ({where})" for flag, where in suggested_flags() if flag not in options]
    assert missing == []


def test_the_template_message_shows_how_to_write_a_literal_brace() -> None:
    with pytest.raises(ConfigError) as caught:
        PromptTemplate("Rate {text")
    message = str(caught.value)
    assert "{{ or }} for a literal brace" in message
    assert "{{{{" not in message
