"""Catching a model the provider does not offer before anything is sent.

The adapter asks the provider's model list once (`Provider.models`); a model missing from it
is refused with the closest names from that list and from the price table, so a typo such as
`gpt-9-turbo` costs no upload and no batch. A model the price table knows is let through: a
provider's list may leave out aliases it still serves.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from batchgraph.pricing.table import PriceTable, load_prices
from batchgraph.providers.base import Provider


class ModelCheck:
    """Answers "does the provider offer this model?", once per model name."""

    def __init__(
        self,
        adapter: Provider | None,
        prices: PriceTable | None = None,
        answered: Iterable[str] = (),
    ) -> None:
        self._adapter = adapter
        self._prices = prices
        self._known: dict[str, str | None] = dict.fromkeys(answered)
        """Models judged; `answered` ones (the provider answered requests of them in earlier
        jobs) are known to exist without asking, so a job the result cache answers whole
        never contacts the provider."""

    def problem(self, model: str) -> str | None:
        """Why `model` cannot be used (with suggestions), or None when it is listed or the
        provider has no list to check against."""
        if model not in self._known:
            self._known[model] = self._judge(model)
        return self._known[model]

    def _judge(self, model: str) -> str | None:
        listed = self._adapter.models() if self._adapter is not None else None
        if listed is None or model in listed or self._adapter is None:
            return None
        spec = self._adapter.spec
        prices = self._prices or load_prices()
        if prices.lookup(spec.price_key, model) is not None:
            return None  # priced, so known to exist (under this or an older name)
        names = list(dict.fromkeys([*listed, *prices.models(spec.price_key)]))
        close = difflib.get_close_matches(model, names, n=3, cutoff=0.6)
        hint = (
            f"did you mean {' or '.join(close)}?"
            if close
            else f"name one of its models, e.g. {spec.example_model}"
        )
        return f"model {model!r} is not one {spec.title} lists — {hint}"
