"""Gemini's synthetic responses and the responses file a batch writes when it ends.

`write_responses` reads the input once and writes one file holding every line, answers and
errors alike (`{"key", "response"}` or `{"key", "error": {code, message, status}}`), in a
shuffled order, in constant memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from batchgraph.sandbox.fate import Fates, fate_id
from batchgraph.sandbox.gemini_http import camel
from batchgraph.sandbox.responder import answer, count_tokens, embedding, text_of
from batchgraph.sandbox.results import ShuffledLines

INTERNAL = {
    "code": 500,
    "message": "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    "status": "INTERNAL",
}
UNFINISHED = {
    "expired": {
        "code": 504,
        "message": "The batch expired before this request was run.",
        "status": "DEADLINE_EXCEEDED",
    },
    "cancelled": {
        "code": 499,
        "message": "The batch was cancelled before this request was run.",
        "status": "CANCELLED",
    },
}
"""Requests a batch never ran. Gemini does not document these lines; the sandbox writes them
in Google's status shape so a client can tell them from failures."""


class BadRequest(Exception):
    """The request would be refused by the model endpoint (an INVALID_ARGUMENT line)."""


@dataclass
class Tally:
    """Counts gathered while writing the responses file."""

    succeeded: int = 0
    failed: int = 0


def write_responses(
    input_path: Path,
    out: IO[bytes],
    *,
    batch_id: str,
    model: str,
    embeddings: bool,
    fates: Fates,
    done_share: float,
    unfinished: str,
) -> Tally:
    """Answer every finished request of the input; `unfinished` names why the rest did not run
    (`expired` or `cancelled`)."""
    tally = Tally()
    seed = fates.config.seed
    version = model.removeprefix("models/")
    with ShuffledLines(out, batch_id) as lines, input_path.open("rb") as source:
        for raw in source:
            if not raw.strip():
                continue
            line = json.loads(raw)
            key = str(line["key"])
            own_id = fate_id(key)
            entry: dict[str, Any] = {"key": key}
            if not fates.finished(own_id, done_share):
                entry["error"] = UNFINISHED[unfinished]
            elif fates.fails(own_id):
                entry["error"] = INTERNAL
            else:
                try:
                    request = line["request"]
                    if embeddings:
                        entry["response"] = embed_response(request, seed)
                    else:
                        entry["response"] = content_response(request, version, seed)
                except BadRequest as err:
                    entry["error"] = {
                        "code": 400,
                        "message": str(err),
                        "status": "INVALID_ARGUMENT",
                    }
            if "error" in entry:
                tally.failed += 1
            else:
                tally.succeeded += 1
            lines.write(json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode())
    return tally


def content_response(request: Any, version: str, seed: str) -> dict[str, Any]:
    """A `GenerateContentResponse` for one `GenerateContentRequest`."""
    if not isinstance(request, dict):
        raise BadRequest("The request must be a GenerateContentRequest object.")
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        raise BadRequest("* GenerateContentRequest.contents: contents is not specified")
    config = camel(request, "generationConfig") or {}
    limit = camel(config, "maxOutputTokens")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise BadRequest(
            "* GenerateContentRequest.generation_config.max_output_tokens: must be positive"
        )
    temperature = config.get("temperature")
    if temperature is not None and not 0 <= float(temperature) <= 2:
        raise BadRequest(
            "* GenerateContentRequest.generation_config.temperature: must be in [0, 2]"
        )
    result = answer(_prompt(request, contents), max_tokens=limit, schema=_schema(config), seed=seed)
    usage: dict[str, Any] = {
        "promptTokenCount": result.input_tokens,
        "candidatesTokenCount": result.output_tokens,
        "totalTokenCount": result.input_tokens + result.output_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": result.input_tokens}],
    }
    if result.cached_tokens:
        usage["cachedContentTokenCount"] = result.cached_tokens
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": result.text}], "role": "model"},
                "finishReason": "MAX_TOKENS" if result.truncated else "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": version,
    }


def embed_response(request: Any, seed: str) -> dict[str, Any]:
    """A `SingleEmbedContentResponse` for one `EmbedContentRequest`."""
    content = request.get("content") if isinstance(request, dict) else None
    text = text_of((content or {}).get("parts")) if isinstance(content, dict) else ""
    if not text:
        raise BadRequest("* EmbedContentRequest.content: content is not specified")
    dimensions = camel(request, "outputDimensionality") or 256
    values = embedding(text, dimensions=int(dimensions), seed=seed)
    return {"embedding": {"values": values}, "tokenCount": count_tokens(text)}


def _prompt(request: dict[str, Any], contents: list[Any]) -> str:
    """Every text of the request, system instruction first, one per line (as the Mistral and
    Anthropic personalities read prompts: the same conversation gets the same answer)."""
    system = camel(request, "systemInstruction")
    texts = [text_of(system.get("parts"))] if isinstance(system, dict) else []
    texts += [text_of(c.get("parts")) for c in contents if isinstance(c, dict)]
    return "\n".join(texts)


def _schema(config: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema asked for: `responseJsonSchema` as it is, or `responseSchema` (Google's
    OpenAPI subset, upper-case type names) made JSON-schema shaped. Either needs
    `responseMimeType: application/json`."""
    json_schema = camel(config, "responseJsonSchema")
    openapi = camel(config, "responseSchema")
    if json_schema is None and openapi is None:
        if camel(config, "responseMimeType") == "application/json":
            return {"type": "object", "properties": {"answer": {"type": "string"}}}
        return None
    if camel(config, "responseMimeType") != "application/json":
        raise BadRequest(
            "* GenerateContentRequest.generation_config.response_mime_type: a response schema "
            "needs response_mime_type application/json"
        )
    if json_schema is not None:
        return json_schema if isinstance(json_schema, dict) else {"type": "object"}
    lowered: dict[str, Any] = _lower_types(openapi) if isinstance(openapi, dict) else {}
    return lowered


def _lower_types(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: value.lower() if key == "type" and isinstance(value, str) else _lower_types(value)
        for key, value in schema.items()
    }
