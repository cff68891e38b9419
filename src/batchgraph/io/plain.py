"""Plain JSONL lines: `{"id": ..., "prompt": ...}` or `{"id": ..., "messages": [...]}`."""

from __future__ import annotations

from collections.abc import Callable

from batchgraph.io.fields import (
    check_id,
    check_max_tokens,
    check_messages,
    check_model,
    check_temperature,
    check_text,
    check_unknown_keys,
    has_system_message,
)
from batchgraph.io.options import ReadOptions
from batchgraph.io.problems import Entry, Issues
from batchgraph.model import JSON, Kind, OutputSchema, Request
from batchgraph.params import CHAT_PARAMS, EMBEDDING_PARAMS, check_params

BASIC_KEYS = ("id", "prompt", "messages", "input", "model", "system", "max_tokens", "temperature")
PLAIN_KEYS = tuple(dict.fromkeys((*BASIC_KEYS, *CHAT_PARAMS, *EMBEDDING_PARAMS)))
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
        request = _embedding(data, request_id, line, model, options, issues)
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
        issues.add(
            '"input" is for embeddings',
            'use "prompt" for chat, or pass --embeddings to embed "input"',
        )
    messages: tuple[dict[str, JSON], ...] = ()
    if "prompt" in data and "messages" in data:
        issues.add('both "prompt" and "messages"', "keep one of them")
    elif "messages" in data:
        messages = check_messages(data["messages"], issues) or ()
    elif "prompt" in data:
        prompt = check_text(data["prompt"], "prompt", issues)
        if prompt is not None:
            messages = ({"role": "user", "content": prompt},)
    else:
        issues.add('missing "prompt"', 'add "prompt": "..." or "messages": [...]')
    system = check_text(data.get("system"), "system", issues)
    in_messages = has_system_message(messages)
    if system is not None and in_messages:
        issues.add('both "system" and a system message', "keep one of them")
    max_tokens = check_max_tokens(data.get("max_tokens"), "max_tokens", issues)
    temperature = check_temperature(data.get("temperature"), issues)
    params = _params(data, CHAT_PARAMS, options, issues)
    if issues or request_id is None or model is None:
        return None
    return Request(
        id=request_id,
        line=line,
        model=model,
        kind=Kind.CHAT,
        messages=messages,
        system=system or (None if in_messages else options.system),
        max_tokens=max_tokens if max_tokens is not None else options.max_tokens,
        temperature=temperature if temperature is not None else options.temperature,
        output_schema=_schema_param(params) or options.output_schema,
        params=params or None,
    )


def _schema_param(params: dict[str, JSON] | None) -> OutputSchema | None:
    """A `response_format` of type json_schema, taken out of `params` as the output schema
    (which every provider can be asked for)."""
    fmt = params.get("response_format") if params else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    spec = fmt["json_schema"]
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        return None
    assert params is not None
    del params["response_format"]
    return OutputSchema(str(spec.get("name") or "answer"), schema)


def _params(
    data: dict[str, JSON],
    allowed: dict[str, Callable[[JSON], str | None]],
    options: ReadOptions,
    issues: Issues,
) -> dict[str, JSON] | None:
    """The line's options over the job's (`--param`), those that apply to its kind."""
    params = {key: value for key, value in options.params.items() if key in allowed}
    for key in data:
        if key in allowed:  # checked only when the line has one: most lines have none
            found, problems = check_params(data, allowed)
            for problem, fix in problems:
                issues.add(problem, fix)
            params.update(found)
            break
    return params or None


def _embedding(
    data: dict[str, JSON],
    request_id: str | None,
    line: int,
    model: str | None,
    options: ReadOptions,
    issues: Issues,
) -> Request | None:
    """An embedding of `input`, or of `prompt`: `--embeddings` over a file of prompts embeds
    the prompts, as its help says."""
    field = "prompt" if "prompt" in data and "input" not in data else "input"
    for key in (*_CHAT_ONLY, *CHAT_PARAMS):
        if key in data and key not in EMBEDDING_PARAMS and key != field:
            issues.add(f'"{key}" does not apply to embeddings', f'remove "{key}"')
    text = check_text(data.get(field), field, issues)
    if field not in data:
        issues.add('missing "input"', 'add "input": "text to embed"')
    params = _params(data, EMBEDDING_PARAMS, options, issues)
    if issues or request_id is None or model is None or text is None:
        return None
    return Request(
        id=request_id, line=line, model=model, kind=Kind.EMBEDDING, input=text, params=params
    )
