"""Plain JSONL lines: `{"id": ..., "prompt": ...}` or `{"id": ..., "messages": [...]}`."""

from __future__ import annotations

from batchgraph.io.fields import (
    check_id,
    check_max_tokens,
    check_messages,
    check_model,
    check_temperature,
    check_text,
    check_unknown_keys,
)
from batchgraph.io.options import ReadOptions
from batchgraph.io.problems import Entry, Issues
from batchgraph.model import JSON, Kind, Request

PLAIN_KEYS = ("id", "prompt", "messages", "input", "model", "system", "max_tokens", "temperature")
_CHAT_ONLY = ("prompt", "messages", "system", "max_tokens", "temperature")
NO_MODEL_FIX = 'pass --model or add "model" to the line'


def plain_entry(data: dict[str, JSON], line: int, options: ReadOptions) -> Entry:
    """Turn one parsed plain line into a request; per-line values override the options."""
    issues = Issues(line)
    check_unknown_keys(data, PLAIN_KEYS, issues)
    request_id = check_id(data.get("id"), "id", issues)
    model = resolve_model(data.get("model"), options, issues)
    kind = options.kind or _kind_of(data)
    if kind is Kind.EMBEDDING:
        request = _embedding(data, request_id, line, model, issues)
    else:
        request = _chat(data, request_id, line, model, options, issues)
    return Entry(line, request_id, None if issues else request, issues.merged())


def resolve_model(value: JSON, options: ReadOptions, issues: Issues) -> str | None:
    """The line's model, else the options' model, else a problem naming both ways to give one."""
    if value is not None:
        return check_model(value, issues)
    if options.model is None:
        issues.add("no model", NO_MODEL_FIX)
    return options.model


def _kind_of(data: dict[str, JSON]) -> Kind:
    if "input" in data and "prompt" not in data and "messages" not in data:
        return Kind.EMBEDDING
    return Kind.CHAT


def _chat(
    data: dict[str, JSON],
    request_id: str | None,
    line: int,
    model: str | None,
    options: ReadOptions,
    issues: Issues,
) -> Request | None:
    if "input" in data:
        issues.add('"input" is for embeddings', 'use "prompt" for chat, or pass --kind embedding')
    messages: tuple[dict[str, str], ...] = ()
    from_messages: str | None = None
    if "prompt" in data and "messages" in data:
        issues.add('both "prompt" and "messages"', "keep one of them")
    elif "messages" in data:
        checked = check_messages(data["messages"], issues)
        if checked is not None:
            messages, from_messages = checked
    elif "prompt" in data:
        prompt = check_text(data["prompt"], "prompt", issues)
        if prompt is not None:
            messages = ({"role": "user", "content": prompt},)
    else:
        issues.add('missing "prompt"', 'add "prompt": "..." or "messages": [...]')
    system = check_text(data.get("system"), "system", issues)
    if system is not None and from_messages is not None:
        issues.add('both "system" and a system message', "keep one of them")
    max_tokens = check_max_tokens(data.get("max_tokens"), "max_tokens", issues)
    temperature = check_temperature(data.get("temperature"), issues)
    if issues or request_id is None or model is None:
        return None
    return Request(
        id=request_id,
        line=line,
        model=model,
        kind=Kind.CHAT,
        messages=messages,
        system=system or from_messages or options.system,
        max_tokens=max_tokens if max_tokens is not None else options.max_tokens,
        temperature=temperature if temperature is not None else options.temperature,
        output_schema=options.output_schema,
    )


def _embedding(
    data: dict[str, JSON], request_id: str | None, line: int, model: str | None, issues: Issues
) -> Request | None:
    for key in _CHAT_ONLY:
        if key in data:
            issues.add(f'"{key}" does not apply to embeddings', f'remove "{key}"')
    text = check_text(data.get("input"), "input", issues)
    if "input" not in data:
        issues.add('missing "input"', 'add "input": "text to embed"')
    if issues or request_id is None or model is None or text is None:
        return None
    return Request(id=request_id, line=line, model=model, kind=Kind.EMBEDDING, input=text)
