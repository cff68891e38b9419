"""What every translation of the common request vocabulary into a provider's shares: one
refusal type that names the field, and the lookups over a request's `params`.

A provider's translation (`anthropic_params`, `mistral_wire`) builds the body and raises
`Refusal` for a field it cannot carry; its `check_request` runs the same translation and turns
the refusal into the message validation reports, so what is checked is what is sent.
"""

from __future__ import annotations

from batchgraph.model import JSON, Request


class Refusal(Exception):
    """A field of the request this provider cannot carry, and why (with the fix)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field}: {reason}")
        self.field = field
        self.reason = reason


def refusal_message(refusal: Refusal, provider: str) -> str:
    """`problem — fix` as validation reports it, naming the field and the provider (a reason
    written as "what; what to do" is split there)."""
    reason = refusal.reason
    if " — " not in reason:
        reason = reason.replace("; ", " — ", 1)
    return f"field {refusal.field} cannot go to {provider}: {reason}"


def extra_for(request: Request, provider: str) -> dict[str, JSON]:
    """The provider's own fields given under `extra`, to merge into its body."""
    extra = (request.params or {}).get("extra")
    fields = extra.get(provider) if isinstance(extra, dict) else None
    return dict(fields) if isinstance(fields, dict) else {}


def max_output(request: Request) -> int | None:
    """The answer's token limit, however it was named (`max_completion_tokens` on an OpenAI
    batch line stays in `params`)."""
    if request.max_tokens is not None:
        return request.max_tokens
    value = (request.params or {}).get("max_completion_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def unknown_field(name: str, provider: str) -> Refusal:
    return Refusal(
        name,
        f"no {provider} equivalent is known — remove it, or give {provider}'s own field under "
        f'"extra": {{"{provider.lower()}": {{...}}}}',
    )


REASONING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
"""Thinking budgets (tokens) standing for OpenAI's reasoning efforts where a provider takes a
budget instead."""
