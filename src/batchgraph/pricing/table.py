"""The price table: built-in prices from `prices.toml`, replaced entry by entry by the user's.

Prices are US dollars per million tokens. Model names are matched exactly, then with dated
suffixes removed (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`), then through each entry's aliases,
then a provider's `"*"` entry, which prices every model it has no entry for (a local server's
models cost $0 until the user's price file names a cost).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from batchgraph.errors import ConfigError

PRICES_ENV = "BATCHGRAPH_PRICES"
_REQUIRED = ("input", "output", "batch_input", "batch_output")
_OPTIONAL = (
    "cached_input",
    "batch_cached_input",
    "cache_write_input",
    "batch_cache_write_input",
    "aliases",
    "as_of",
    "source",
)
_OPTIONAL_AMOUNTS = _OPTIONAL[:4]
ANY_MODEL = "*"
"""The model name of an entry that prices every model of its provider without its own entry."""
_DATED_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One model's prices per million tokens, synchronous and through the Batch API."""

    provider: str
    model: str
    input: float
    output: float
    batch_input: float
    batch_output: float
    cached_input: float | None = None
    batch_cached_input: float | None = None
    cache_write_input: float | None = None
    """Input tokens written to the provider's prompt cache (Anthropic: 1.25× `input`)."""
    batch_cache_write_input: float | None = None
    aliases: tuple[str, ...] = ()
    as_of: date | None = None
    source: str | None = None


def base_model_name(model: str) -> str:
    """The name without dated or `-latest` suffixes: `mistral-large-2411` → `mistral-large`."""
    name = model.strip().lower()
    while (stripped := _DATED_SUFFIX.sub("", name)) != name:
        name = stripped
    return name


class PriceTable:
    """Prices by provider and model name."""

    def __init__(self, prices: Mapping[tuple[str, str], ModelPrice]) -> None:
        self._prices = dict(prices)
        self._aliases = {
            (price.provider, alias.lower()): price
            for price in self._prices.values()
            for alias in price.aliases
        }

    def lookup(self, provider: str, model: str) -> ModelPrice | None:
        """The price of `model`, or None when the table does not know it."""
        provider = provider.lower()
        if provider == "openrouter" and model.endswith(":free"):
            return free_price(provider, model)
        for name in (model.strip().lower(), base_model_name(model)):
            found = self._prices.get((provider, name)) or self._aliases.get((provider, name))
            if found is not None:
                return found
        return self._prices.get((provider, ANY_MODEL))

    def models(self, provider: str) -> list[str]:
        return sorted(model for (owner, model) in self._prices if owner == provider.lower())

    def merged(self, other: PriceTable) -> PriceTable:
        """This table with `other`'s entries replacing its own."""
        return PriceTable({**self._prices, **other._prices})


def load_prices(path: Path | None = None, environ: Mapping[str, str] | None = None) -> PriceTable:
    """Built-in prices, then the file named by BATCHGRAPH_PRICES, then `path`: later ones win."""
    table = builtin_prices()
    env_file = (os.environ if environ is None else environ).get(PRICES_ENV)
    for extra in (Path(env_file) if env_file else None, path):
        if extra is not None:
            table = table.merged(read_price_file(extra))
    return table


def builtin_prices() -> PriceTable:
    text = resources.files("batchgraph.pricing").joinpath("prices.toml").read_text("utf-8")
    return parse_prices(tomllib.loads(text), "built-in prices.toml")


def read_price_file(path: Path) -> PriceTable:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such price file — check the path or {PRICES_ENV}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}) — fix the price file") from err
    return parse_prices(data, str(path))


def parse_prices(data: Mapping[str, Any], source: str) -> PriceTable:
    """Entries `[provider."model"]` with the keys described at the top of prices.toml."""
    prices: dict[tuple[str, str], ModelPrice] = {}
    for provider, models in data.items():
        if not isinstance(models, dict):
            raise ConfigError(f'{source}: "{provider}" must be a table of models — see prices.toml')
        for model, entry in models.items():
            price = _entry(provider.lower(), model.lower(), entry, source)
            prices[(price.provider, price.model)] = price
    return PriceTable(prices)


def _entry(provider: str, model: str, entry: Any, source: str) -> ModelPrice:
    where = f'{source}: [{provider}."{model}"]'
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table of prices — see prices.toml")
    missing = [key for key in _REQUIRED if key not in entry]
    unknown = [key for key in entry if key not in _REQUIRED + _OPTIONAL]
    if missing or unknown:
        wrong = ", ".join([*(f"missing {k}" for k in missing), *(f"unknown {k}" for k in unknown)])
        raise ConfigError(f"{where}: {wrong} — the keys are {', '.join(_REQUIRED + _OPTIONAL)}")
    amounts: dict[str, float | None] = {}
    for key in (*_REQUIRED, *_OPTIONAL_AMOUNTS):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"{where}: {key} must be a number of dollars per million tokens")
        if value is not None and value < 0:
            raise ConfigError(f"{where}: {key} is negative — prices are zero or more")
        amounts[key] = None if value is None else float(value)
    as_of = entry.get("as_of")
    return ModelPrice(
        provider=provider,
        model=model,
        input=amounts["input"] or 0.0,
        output=amounts["output"] or 0.0,
        batch_input=amounts["batch_input"] or 0.0,
        batch_output=amounts["batch_output"] or 0.0,
        cached_input=amounts["cached_input"],
        batch_cached_input=amounts["batch_cached_input"],
        cache_write_input=amounts["cache_write_input"],
        batch_cache_write_input=amounts["batch_cache_write_input"],
        aliases=tuple(str(alias) for alias in entry.get("aliases", ())),
        as_of=as_of if isinstance(as_of, date) else None,
        source=entry.get("source"),
    )


def free_price(provider: str, model: str) -> ModelPrice:
    """OpenRouter's `:free` variants cost nothing (its model list prices them at 0)."""
    return ModelPrice(
        provider,
        model,
        0.0,
        0.0,
        0.0,
        0.0,
        as_of=date(2026, 11, 30),
        source="https://openrouter.ai/api/v1/models (`:free` variants are priced 0)",
    )
