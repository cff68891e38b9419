"""How the sandbox counts a request's input tokens: as each provider does, as far as offline allows.

A cost estimate is only as honest as the usage it is checked against, so the sandbox counts
what the real provider counts, not just the message text:

- **OpenAI**: each message's content, 3 tokens per message and 3 to prime the reply (OpenAI's
  published count for chat models), plus the JSON of tool definitions and of a `json_schema`
  response format. An OpenAI model's text is tokenized with `o200k_base` (`cl100k_base` for
  GPT-4, GPT-3.5 and the embedding models) when the `bpe-openai` package is installed
  (`batchgraph[tokenizers]`); other text at four characters a token.
- **Anthropic**: system prompt, messages and the JSON of tool definitions, at four characters
  a token (Claude's tokenizer is not published), plus the tool-use system prompt Anthropic
  adds whenever tools are offered: 313 tokens when a tool is forced (`any` or `tool`, as
  `--json-schema` does), 346 otherwise (its published figures for Claude 4 models).
- **Mistral**: messages, tools and a `json_schema` response format, at four characters a token.

`POST /v1/messages/count_tokens` answers Anthropic's count, the same as its batches report.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

OPENAI_PER_MESSAGE = 3
OPENAI_REPLY_PRIMING = 3
ANTHROPIC_TOOL_PROMPT = {"forced": 313, "auto": 346}
_CL100K_MODELS = ("gpt-4-", "gpt-3.5", "text-embedding")
_O200K_MODELS = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-", "gpt-oss")


def approximate(text: str) -> int:
    """Four characters a token, rounded up (at least 1 for any text)."""
    return math.ceil(len(text) / 4) if text else 0


@functools.cache
def _openai_encoder(encoding: str) -> Callable[[str], int] | None:
    try:
        import bpe_openai
    except ImportError:
        return None
    encoder = bpe_openai.get_encoding(encoding)
    return lambda text: len(encoder.encode(text, disallowed_special=()))


def openai_count(model: str) -> Callable[[str], int]:
    """OpenAI's tokenizer for an OpenAI `model` when it is installed, else the approximation
    (always for other makers' models on OpenAI's protocol: Groq's, Together's)."""
    if model == "gpt-4" or model.startswith(_CL100K_MODELS):
        return _openai_encoder("cl100k_base") or approximate
    if model.startswith(_O200K_MODELS):
        return _openai_encoder("o200k_base") or approximate
    return approximate


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text(p.get("text", "") if isinstance(p, dict) else p) for p in content)
    return "" if content is None else json.dumps(content, sort_keys=True)


def _schema_json(body: dict[str, Any]) -> str:
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        return json.dumps(response_format.get("json_schema"), separators=(",", ":"), sort_keys=True)
    return ""


def _tools_json(body: dict[str, Any]) -> str:
    tools = body.get("tools")
    return json.dumps(tools, separators=(",", ":"), sort_keys=True) if tools else ""


def _total(count: Callable[[str], int], texts: Iterable[str]) -> int:
    return sum(count(text) for text in texts if text)


def openai_chat_tokens(body: dict[str, Any]) -> int:
    """Prompt tokens of a chat-completions body, as OpenAI counts them."""
    count = openai_count(str(body.get("model", "")))
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    texts = [_text(m.get("content")) for m in messages]
    extra = OPENAI_PER_MESSAGE * len(messages) + OPENAI_REPLY_PRIMING
    return _total(count, [*texts, _tools_json(body), _schema_json(body)]) + extra


def openai_text_tokens(model: str, text: str) -> int:
    """Tokens of one text (an embedding input), as OpenAI counts them."""
    return max(1, openai_count(model)(text))


def anthropic_tokens(params: dict[str, Any]) -> int:
    """Input tokens of a Messages API body, everything Anthropic adds included."""
    messages = [m for m in params.get("messages") or [] if isinstance(m, dict)]
    texts = [_text(params.get("system")), *(_text(m.get("content")) for m in messages)]
    tokens = max(1, _total(approximate, [*texts, _tools_json(params)]))
    if params.get("tools"):
        choice = params.get("tool_choice")
        kind = choice.get("type") if isinstance(choice, dict) else None
        tokens += ANTHROPIC_TOOL_PROMPT["forced" if kind in ("any", "tool") else "auto"]
    return tokens


def mistral_chat_tokens(body: dict[str, Any]) -> int:
    """Prompt tokens of a Mistral chat body: messages, tools and schema."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    texts = [_text(m.get("content")) for m in messages]
    return max(1, _total(approximate, [*texts, _tools_json(body), _schema_json(body)]))
