"""Write the small extracts of the providers' API specs that the sandbox tests check against.

    python tests/specs/extract.py SOURCE_SPECS_DIR

A published spec is megabytes; the tests need a few schemas. Each extract keeps the chosen
schemas (and paths, for Mistral, whose test matches responses to operations) with everything
they reference, unchanged, under the same JSON pointers as in the source file. See README.md.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

OPENAI_SCHEMAS = (
    "Batch", "OpenAIFile", "ListBatchesResponse", "ListFilesResponse", "DeleteFileResponse",
    "ErrorResponse",
)  # fmt: skip
MISTRAL_PATHS = ("/v1/files", "/v1/batch/", "/v1/chat/completions", "/v1/embeddings")


def pointer(path: str) -> list[str]:
    """`#/components/schemas/Batch` → ["components", "schemas", "Batch"]."""
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("#/").split("/")]


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node)) if node else set()
    return set()


def extract(document: dict[str, Any], roots: list[list[str]]) -> dict[str, Any]:
    """The parts of `document` at `roots` and every part they reference, transitively."""
    out: dict[str, Any] = {k: document[k] for k in ("openapi", "info") if k in document}
    todo, seen = list(roots), set()
    while todo:
        parts = todo.pop()
        if tuple(parts) in seen:
            continue
        seen.add(tuple(parts))
        source, target = document, out
        for part in parts[:-1]:
            source = source[part]
            target = target.setdefault(part, {})
        target[parts[-1]] = source[parts[-1]]
        todo += [pointer(ref) for ref in refs(source[parts[-1]]) if ref.startswith("#/")]
    return out


def write_yaml(document: dict[str, Any], path: Path, note: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(f"# {note}\n")
        yaml.dump(document, out, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)


def main(source: Path) -> None:
    openai = yaml.load((source / "openai/openapi.yaml").read_text(), Loader=yaml.CSafeLoader)
    roots = [["components", "schemas", name] for name in OPENAI_SCHEMAS]
    write_yaml(extract(openai, roots), HERE / "openai/openapi-batch-extract.yaml",
               "Extract of openai/openapi.yaml: see tests/specs/README.md")  # fmt: skip
    shutil.copy(source / "openai/openai-batch-line-schemas.yaml", HERE / "openai")

    mistral_path = source / "mistral/openapi-public-doc.yaml"
    mistral = yaml.load(mistral_path.read_text(), Loader=yaml.CSafeLoader)
    roots = [["paths", p] for p in mistral["paths"] if p.startswith(MISTRAL_PATHS)]
    write_yaml(extract(mistral, roots), HERE / "mistral/openapi-batch-extract.yaml",
               "Extract of mistral/openapi-public-doc.yaml: see tests/specs/README.md")  # fmt: skip

    (HERE / "anthropic").mkdir(exist_ok=True)
    shutil.copy(source / "anthropic/anthropic-message-batches.schema.json", HERE / "anthropic")
    for provider in ("openai", "mistral", "anthropic"):
        shutil.copy(source / provider / "LICENSE", HERE / provider / "LICENSE")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
