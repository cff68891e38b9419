"""Shared code for driving the sandbox with the official SDKs and checking bodies by the specs.

The specs are extracts of the providers' published ones, in `tests/specs` (see its README).
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from openai import OpenAI
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "tests" / "specs"


def _nullable_optionals(node: Any) -> Any:
    """The real API sends every key, `null` where unset; the published spec leaves optional
    properties non-nullable. Make non-required properties (and OpenAPI 3.0 `nullable`) accept
    null, so the check is about shapes and types, not about that omission."""
    if isinstance(node, list):
        return [_nullable_optionals(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_optionals(v) for k, v in node.items()}
    if out.pop("nullable", False):
        out = {"anyOf": [out, {"type": "null"}]}
    props = out.get("properties")
    if isinstance(props, dict):
        required = set(out.get("required", []))
        out["properties"] = {
            name: sub if name in required else {"anyOf": [sub, {"type": "null"}]}
            for name, sub in props.items()
        }
    return out


class SpecValidator:
    """Validates instances against `components.schemas.<name>` of an OpenAPI document."""

    def __init__(self, path: Path) -> None:
        with path.open() as f:
            document = yaml.load(f, Loader=yaml.CSafeLoader)
        document = _nullable_optionals(copy.deepcopy(document))
        self.uri = f"urn:spec:{path.name}"
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)

    def validate(self, name: str, instance: Any) -> None:
        schema = {"$ref": f"{self.uri}#/components/schemas/{name}"}
        Draft202012Validator(schema, registry=self.registry).validate(instance)


@cache
def openai_spec() -> SpecValidator:
    return SpecValidator(SPECS / "openai" / "openapi-batch-extract.yaml")


@cache
def openai_lines_spec() -> SpecValidator:
    return SpecValidator(SPECS / "openai" / "openai-batch-line-schemas.yaml")


def chat_line(custom_id: str, text: str = "What is 2+2?", **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **body},
    }


def jsonl(lines: Iterable[dict[str, Any] | str]) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def upload(client: OpenAI, lines: Iterable[dict[str, Any] | str]) -> str:
    data = io.BytesIO(jsonl(lines))
    return client.files.create(file=("batch.jsonl", data, "application/jsonl"), purpose="batch").id


def read_lines(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]
