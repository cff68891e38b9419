"""Find a user's graph by reference: `package.module:graph` or `path/to/file.py:graph`."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

from batchgraph.errors import ConfigError


def load_graph(reference: str) -> Pregel[Any, Any, Any, Any]:
    """The compiled graph `reference` names (a `StateGraph` builder is compiled here)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"graph {reference!r} is not of the form module:attribute — for example "
            "my_flows:graph or flows/review.py:graph"
        )
    module = _import(module_name, reference)
    try:
        found = getattr(module, attribute)
    except AttributeError as err:
        raise ConfigError(f"graph {reference!r}: {module_name} has no {attribute!r}") from err
    if isinstance(found, StateGraph):
        found = found.compile()
    if not isinstance(found, Pregel):
        raise ConfigError(
            f"graph {reference!r} is a {type(found).__name__}, not a LangGraph graph — name a "
            "compiled graph (builder.compile()) or a StateGraph"
        )
    return found


def _import(module_name: str, reference: str) -> object:
    if module_name.endswith(".py"):
        path = Path(module_name).resolve()
        if not path.is_file():
            raise ConfigError(f"graph {reference!r}: no file {path}")
        spec = importlib.util.spec_from_file_location(f"batchgraph_flow_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"graph {reference!r}: {path} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # like `python -m`: the current folder imports
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"graph {reference!r}: no module {module_name!r} — run from the folder that "
            "holds it, or give a file path (flows/review.py:graph)"
        ) from err
