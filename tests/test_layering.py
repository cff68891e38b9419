"""The package's rooms import each other one way only: no cycles, even through lazy imports.

A room is a subpackage (`graph`, `store`, …) or a top-level module (`api`, `jobs`, …). Every
import counts, including those inside functions and under `TYPE_CHECKING`: a lazy import still
makes the two rooms depend on each other. The package root (`__init__`, `__main__`) is the
front door and may reach every room.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import batchgraph

ROOT = Path(batchgraph.__file__).parent
FRONT_DOOR = {"__init__", "__main__"}


def room_of(module: str) -> str | None:
    """`batchgraph.graph.nodes` → `graph`; `batchgraph.api` → `api`; other packages → None."""
    parts = module.split(".")
    if parts[0] != "batchgraph" or len(parts) < 2:
        return None
    return parts[1]


def imported_modules(path: Path) -> Iterator[str]:
    """Every module `path` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; write the absolute name"
            base = node.module or ""
            yield base
            for alias in node.names:  # `from batchgraph import jsoncodec` names a module
                yield f"{base}.{alias.name}"


def room_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[0] in FRONT_DOOR:
            continue
        room = parts[0]
        targets = edges.setdefault(room, set())
        for module in imported_modules(path):
            target = room_of(module)
            if target is not None and target != room and _exists(target):
                targets.add(target)
    return edges


def _exists(room: str) -> bool:
    return (ROOT / room).is_dir() or (ROOT / f"{room}.py").is_file()


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle among the rooms, as the path that closes it, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(room: str) -> list[str] | None:
        state[room] = "open"
        stack.append(room)
        for target in sorted(edges.get(room, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        stack.pop()
        state[room] = "done"
        return None

    for room in sorted(edges):
        if room not in state and (cycle := visit(room)) is not None:
            return cycle
    return None


def test_rooms_import_each_other_one_way_only() -> None:
    edges = room_edges()
    assert {"graph", "store", "providers", "api", "cli"} <= set(edges)
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle between rooms: " + " → ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_arrows_the_architecture_names() -> None:
    """The sandbox imports nothing of the client side; providers know nothing of LangGraph."""
    edges = room_edges()
    assert edges["sandbox"] == set()
    assert not {"graph", "runner", "api", "cli", "jobs"} & edges["providers"]
    assert "api" not in edges["graph"], "the graph package sits below the API"
    assert "runner" not in edges["api"], "the runner drives the API; the API does not call up"
