"""OpenAI batch input lines as users already have them (`custom_id`, `method`, `url`, `body`)."""

from __future__ import annotations

from batchgraph.io.fields import (
    check_id,
    check_max_tokens,
    check_messages,
    check_temperature,
    check_text,
    check_unknown_keys,
)
from batchgraph.io.options import ReadOptions
from batchgraph.io.plain import resolve_model
from batchgraph.io.problems import Entry, Issues
from batchgraph.model import JSON, Kind, OutputSchema, Request

LINE_KEYS = ("custom_id", "method", "url", "body")
CHAT_BODY_KEYS = (
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "response_format",
)
EMBEDDING_BODY_KEYS = ("model", "input")
ENDPOINTS = {"/v1/chat/completions": Kind.CHAT, "/v1/embeddings": Kind.EMBEDDING}


def looks_like_openai_batch(data: object) -> bool:
    """True for a parsed line in OpenAI's batch layout (told apart by its keys)."""
    return isinstance(data, dict) and "custom_id" in data and "body" in data


def openai_batch_entry(data: dict[str, JSON], line: int, options: ReadOptions) -> Entry:
    """Turn one OpenAI batch line into a request; the body's values override the options."""
    issues = Issues(line)
    check_unknown_keys(data, LINE_KEYS, issues)
    request_id = check_id(data.get("custom_id"), "custom_id", issues)
    if data.get("method", "POST") != "POST":
        issues.add(f'"method" is {data.get("method")!r}', 'set "method": "POST"')
    kind = _endpoint_kind(data.get("url"), issues)
    body = data.get("body")
    request = None
    if not isinstance(body, dict):
        issues.add('"body" is not an object', 'put the request in "body": {"model": ..., ...}')
    elif kind is Kind.CHAT:
        request = _chat(body, request_id, line, options, issues)
    elif kind is Kind.EMBEDDING:
        request = _embedding(body, request_id, line, options, issues)
    return Entry(line, request_id, None if issues else request, issues.merged())


def _endpoint_kind(url: JSON, issues: Issues) -> Kind | None:
    kind = ENDPOINTS.get(url) if isinstance(url, str) else None
    if kind is None:
        issues.add(f'"url" is {url!r}', f"use one of {', '.join(ENDPOINTS)}")
    return kind


def _chat(
    body: dict[str, JSON],
    request_id: str | None,
    line: int,
    options: ReadOptions,
    issues: Issues,
) -> Request | None:
    check_unknown_keys(body, CHAT_BODY_KEYS, issues, where=" in body")
    model = resolve_model(body.get("model"), options, issues)
    checked = check_messages(body.get("messages"), issues)
    max_tokens = check_max_tokens(body.get("max_tokens"), "max_tokens", issues)
    completion = check_max_tokens(
        body.get("max_completion_tokens"), "max_completion_tokens", issues
    )
    temperature = check_temperature(body.get("temperature"), issues)
    schema = _output_schema(body.get("response_format"), issues)
    if issues or checked is None or request_id is None or model is None:
        return None
    messages, system = checked
    limit = completion if completion is not None else max_tokens
    return Request(
        id=request_id,
        line=line,
        model=model,
        kind=Kind.CHAT,
        messages=messages,
        system=system if system is not None else options.system,
        max_tokens=limit if limit is not None else options.max_tokens,
        temperature=temperature if temperature is not None else options.temperature,
        output_schema=schema if schema is not None else options.output_schema,
    )


def _embedding(
    body: dict[str, JSON],
    request_id: str | None,
    line: int,
    options: ReadOptions,
    issues: Issues,
) -> Request | None:
    check_unknown_keys(body, EMBEDDING_BODY_KEYS, issues, where=" in body")
    model = resolve_model(body.get("model"), options, issues)
    value = body.get("input")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    elif isinstance(value, list):
        issues.add(f'"input" holds {len(value)} texts', "put one text per line")
        value = None
    text = check_text(value, "input", issues)
    if "input" not in body:
        issues.add('missing "input"', 'add "input": "text to embed" to the body')
    if issues or request_id is None or model is None or text is None:
        return None
    return Request(id=request_id, line=line, model=model, kind=Kind.EMBEDDING, input=text)


def _output_schema(value: JSON, issues: Issues) -> OutputSchema | None:
    """`response_format` of type json_schema becomes an `OutputSchema`; text means none."""
    if value is None or value == {"type": "text"}:
        return None
    spec = value.get("json_schema") if isinstance(value, dict) else None
    if not isinstance(value, dict) or value.get("type") != "json_schema":
        issues.add(
            f'"response_format" is {value!r}',
            'use {"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}',
        )
        return None
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("name"), str)
        or not isinstance(spec.get("schema"), dict)
    ):
        issues.add(
            '"response_format.json_schema" lacks a "name" or a "schema" object',
            'write "json_schema": {"name": "answer", "schema": {...}}',
        )
        return None
    return OutputSchema(name=spec["name"], schema=spec["schema"])
