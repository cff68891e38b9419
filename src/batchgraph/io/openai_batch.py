"""OpenAI batch input lines as users already have them (`custom_id`, `method`, `url`, `body`)."""

from __future__ import annotations

from batchgraph.io.fields import (
    check_id,
    check_max_tokens,
    check_temperature,
    check_text,
    check_unknown_keys,
    has_system_message,
    messages_as_written,
)
from batchgraph.io.options import ReadOptions
from batchgraph.io.plain import resolve_model
from batchgraph.io.problems import Entry, Issues
from batchgraph.model import JSON, Kind, OutputSchema, Request
from batchgraph.params import CHAT_PARAMS

LINE_KEYS = ("custom_id", "method", "url", "body")
ENDPOINTS = {
    "/v1/chat/completions": Kind.CHAT,
    "/v1/embeddings": Kind.EMBEDDING,
    "/v1/responses": Kind.RESPONSE,
}


def looks_like_openai_batch(data: object) -> bool:
    """True for a parsed line in OpenAI's batch layout (told apart by its keys)."""
    return isinstance(data, dict) and "custom_id" in data and "body" in data and "url" in data


def openai_batch_entry(data: dict[str, JSON], line: int, options: ReadOptions) -> Entry:
    """Turn one OpenAI batch line into a request whose body reaches OpenAI as written.

    Only what must be checked is: the line's shape, its id, model and endpoint, and the
    values batchgraph itself reads (messages, max_tokens, temperature, a JSON schema, an
    embedding's input). Every other body field is kept in `params` as given and left to the
    provider to judge; on another provider it is translated or refused
    (docs/request-fields.md). The options fill in what the body leaves out.
    """
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
    elif kind is Kind.RESPONSE:
        request = _response(body, request_id, line, options, issues)
    return Entry(line, request_id, None if issues else request, issues.merged())


def _endpoint_kind(url: JSON, issues: Issues) -> Kind | None:
    kind = ENDPOINTS.get(url) if isinstance(url, str) else None
    if kind is None:
        issues.add(f'"url" is {url!r}', f"use one of {', '.join(ENDPOINTS)}")
    return kind


_CHAT_READ = frozenset({"model", "messages", "max_tokens", "temperature"})
"""Body fields held in the request's own fields; the rest go to `params` as given."""


def _chat(
    body: dict[str, JSON],
    request_id: str | None,
    line: int,
    options: ReadOptions,
    issues: Issues,
) -> Request | None:
    model = resolve_model(body.get("model"), options, issues)
    messages = messages_as_written(body.get("messages"), issues)
    max_tokens = check_max_tokens(body.get("max_tokens"), "max_tokens", issues)
    temperature = check_temperature(body.get("temperature"), issues)
    fmt = body.get("response_format")
    schema = _output_schema(fmt, issues) if fmt is not None else None
    if issues or messages is None or request_id is None or model is None:
        return None
    params = _rest(body, _CHAT_READ)
    for key, value in options.params.items():
        if key in CHAT_PARAMS:
            params.setdefault(key, value)
    return Request(
        id=request_id,
        line=line,
        model=model,
        kind=Kind.CHAT,
        messages=messages,
        system=None if has_system_message(messages) else options.system,
        max_tokens=max_tokens
        if max_tokens is not None or "max_completion_tokens" in params
        else options.max_tokens,
        temperature=temperature if temperature is not None else options.temperature,
        output_schema=schema if schema is not None or fmt is not None else options.output_schema,
        params=params or None,
    )


def _rest(body: dict[str, JSON], read: frozenset[str]) -> dict[str, JSON]:
    return {key: value for key, value in body.items() if key not in read}


def _embedding(
    body: dict[str, JSON],
    request_id: str | None,
    line: int,
    options: ReadOptions,
    issues: Issues,
) -> Request | None:
    model = resolve_model(body.get("model"), options, issues)
    value = body.get("input")
    params = _rest(body, frozenset({"model", "input"}))
    if isinstance(value, list) and len(value) == 1:
        params["input"] = value  # sent as written; read as its one text
        value = value[0]
    elif isinstance(value, list):
        issues.add(f'"input" holds {len(value)} texts', "put one text per line")
        value = None
    text = check_text(value, "input", issues)
    if "input" not in body:
        issues.add('missing "input"', 'add "input": "text to embed" to the body')
    if issues or request_id is None or model is None or text is None:
        return None
    return Request(
        id=request_id,
        line=line,
        model=model,
        kind=Kind.EMBEDDING,
        input=text,
        params=params or None,
    )


def _response(
    body: dict[str, JSON],
    request_id: str | None,
    line: int,
    options: ReadOptions,
    issues: Issues,
) -> Request | None:
    """A Responses API request: its body is OpenAI's alone, and kept whole."""
    model = resolve_model(body.get("model"), options, issues)
    if body.get("input") in (None, "", []):
        issues.add('missing "input"', 'add "input": "..." to the body')
    if issues or request_id is None or model is None:
        return None
    return Request(
        id=request_id,
        line=line,
        model=model,
        kind=Kind.RESPONSE,
        params=_rest(body, frozenset({"model"})),
    )


def _output_schema(value: JSON, issues: Issues) -> OutputSchema | None:
    """`response_format` of type json_schema becomes an `OutputSchema` (the format itself is
    sent as written); other types are the provider's to judge."""
    if not isinstance(value, dict) or value.get("type") != "json_schema":
        return None
    spec = value.get("json_schema")
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
