"""Batch input lines in Anthropic's and Mistral's own formats, kept as written.

An Anthropic Message Batches request is `{"custom_id": ..., "params": {...}}`; a Mistral batch
line is `{"custom_id": ..., "body": {...}}` (no `url`: the endpoint and usually the model are
named once, for the whole batch). Such a request runs on its own provider only, and reaches it
as written: only the id, the model and the line's shape are checked here; the provider judges
the rest.
"""

from __future__ import annotations

from batchgraph.io.fields import check_id, check_unknown_keys
from batchgraph.io.fields import messages_as_written as _messages
from batchgraph.io.options import ReadOptions
from batchgraph.io.plain import resolve_model
from batchgraph.io.problems import Entry, Issues
from batchgraph.model import JSON, Kind, Request

ANTHROPIC_KEYS = ("custom_id", "params")
MISTRAL_KEYS = ("custom_id", "body")


def looks_like_anthropic_batch(data: object) -> bool:
    return isinstance(data, dict) and "custom_id" in data and "params" in data


def looks_like_mistral_batch(data: object) -> bool:
    return isinstance(data, dict) and "custom_id" in data and "body" in data and "url" not in data


def anthropic_batch_entry(data: dict[str, JSON], line: int, options: ReadOptions) -> Entry:
    """One Message Batches request; the options fill in only the model when `params` has none."""
    issues = Issues(line)
    check_unknown_keys(data, ANTHROPIC_KEYS, issues)
    request_id = check_id(data.get("custom_id"), "custom_id", issues)
    params = data.get("params")
    if not isinstance(params, dict):
        issues.add('"params" is not an object', 'write "params": {"model": ..., "messages": [...]}')
        return Entry(line, request_id, None, issues.merged())
    model = resolve_model(params.get("model"), options, issues)
    messages = _messages(params.get("messages"), issues)
    if issues or request_id is None or model is None or messages is None:
        return Entry(line, request_id, None, issues.merged())
    rest = {key: value for key, value in params.items() if key not in ("model", "messages")}
    request = Request(
        id=request_id,
        line=line,
        model=model,
        messages=messages,
        native="anthropic",
        params=rest or None,
    )
    return Entry(line, request_id, request, ())


def mistral_batch_entry(data: dict[str, JSON], line: int, options: ReadOptions) -> Entry:
    """One Mistral batch line: a chat body (`messages`), or an embedding body (`input`)."""
    issues = Issues(line)
    check_unknown_keys(data, MISTRAL_KEYS, issues)
    request_id = check_id(data.get("custom_id"), "custom_id", issues)
    body = data.get("body")
    if not isinstance(body, dict):
        issues.add('"body" is not an object', 'write "body": {"messages": [...]}')
        return Entry(line, request_id, None, issues.merged())
    model = resolve_model(body.get("model"), options, issues)
    embedding = "input" in body and "messages" not in body
    messages = None if embedding else _messages(body.get("messages"), issues)
    text = body.get("input") if embedding else None
    if embedding and not (isinstance(text, str | list) and text):
        issues.add('"input" is empty', 'write "input": "text to embed"')
    if issues or request_id is None or model is None:
        return Entry(line, request_id, None, issues.merged())
    rest = {key: value for key, value in body.items() if key not in ("model", "messages")}
    request = Request(
        id=request_id,
        line=line,
        model=model,
        kind=Kind.EMBEDDING if embedding else Kind.CHAT,
        messages=messages or (),
        input=text if isinstance(text, str) else None,
        native="mistral",
        params=rest or None,
    )
    return Entry(line, request_id, request, ())
