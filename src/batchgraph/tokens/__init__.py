"""Input tokens as each provider counts them: offline tokenizers, the providers' own counting
endpoints, and what the adapter and the provider add around a prompt (`counting`)."""

from batchgraph.tokens.counting import (
    COUNT_SAMPLE,
    ENDPOINT_SAMPLE,
    InputCount,
    body_texts,
    count_input,
    request_tokens,
    token_endpoint,
)
from batchgraph.tokens.tokenizers import TextCounter, text_counter

__all__ = [
    "COUNT_SAMPLE",
    "ENDPOINT_SAMPLE",
    "InputCount",
    "TextCounter",
    "body_texts",
    "count_input",
    "request_tokens",
    "text_counter",
    "token_endpoint",
]
