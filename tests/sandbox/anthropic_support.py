"""Shared code for driving the Anthropic part of the sandbox and checking its bodies by the
JSON Schema generated from Anthropic's SDK types (`tests/specs/anthropic`, see its README)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from anthropic import Anthropic
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from batchgraph.providers.settings import SANDBOX_API_KEY
from batchgraph.sandbox import SandboxHandle

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "tests" / "specs" / "anthropic" / "anthropic-message-batches.schema.json"
DAY = 24 * 3600.0
MODEL = "claude-haiku-4-5"


class Schemas:
    """Validates instances against `$defs/<name>` of the Anthropic JSON Schema."""

    def __init__(self, path: Path) -> None:
        document = json.loads(path.read_text())
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource("urn:anthropic", resource)
        self.validators: dict[str, Draft202012Validator] = {}

    def validate(self, name: str, instance: Any) -> None:
        if name not in self.validators:
            schema = {"$ref": f"urn:anthropic#/$defs/{name}"}
            self.validators[name] = Draft202012Validator(schema, registry=self.registry)
        self.validators[name].validate(instance)
        if name == "MessageBatch":
            for key in ("created_at", "expires_at", "ended_at", "archived_at"):
                assert_rfc3339(instance[key])


class FakeClock:
    """Real time stands still; the test moves it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def assert_rfc3339(value: str | None) -> None:
    if value is not None:
        assert value.endswith("Z") and "T" in value
        assert datetime.fromisoformat(value).tzinfo is not None


@cache
def load_schemas() -> Schemas:
    return Schemas(SPEC)


def stop_the_clock(sandbox: SandboxHandle) -> FakeClock:
    """Batches take 100 virtual seconds: 10 validating, 80 running, 10 finalizing."""
    fake = FakeClock()
    sandbox.ctx.now = fake
    sandbox.configure(processing_seconds=100.0, time_scale=1.0)
    return fake


def item(custom_id: str, text: str = "What is 2+2?", **params: Any) -> dict[str, Any]:
    body = {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "params": {**body, **params}}


def items(count: int, prefix: str = "req") -> list[dict[str, Any]]:
    return [item(f"{prefix}-{i}", f"question {i}") for i in range(count)]


def raw(
    sandbox: SandboxHandle, method: str, path: str, *, bearer: bool = False, **kwargs: Any
) -> httpx.Response:
    """A call the way SDK 1.x makes it (`x-api-key`), or SDK 2.x (`Authorization: Bearer`)."""
    if bearer:
        headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}", "anthropic-version": "2026-10-21"}
    else:
        headers = {"x-api-key": SANDBOX_API_KEY, "anthropic-version": "2023-06-01"}
    url = path if path.startswith("http") else sandbox.base_url("anthropic") + path
    kwargs.setdefault("timeout", None)  # httpx's 5 s default is a speed check under load
    return httpx.request(method, url, headers=headers, **kwargs)


def result_lines(sandbox: SandboxHandle, results_url: str) -> list[dict[str, Any]]:
    response = raw(sandbox, "GET", results_url)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def retrieve_raw(client: Anthropic, batch_id: str) -> dict[str, Any]:
    body = client.messages.batches.with_raw_response.retrieve(batch_id).json()
    assert isinstance(body, dict)
    return body
