"""The built-in price table, name matching and user overrides."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from batchgraph.errors import ConfigError
from batchgraph.pricing import PRICES_ENV, base_model_name, builtin_prices, load_prices
from batchgraph.providers.registry import SPECS


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4.1"),
        ("openai", "gpt-4.1-mini"),
        ("openai", "gpt-4.1-nano"),
        ("openai", "gpt-5"),
        ("openai", "gpt-5-mini"),
        ("openai", "text-embedding-3-small"),
        ("openai", "text-embedding-3-large"),
        ("anthropic", "claude-opus-4-1"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-haiku-4-5"),
        ("mistral", "mistral-large"),
        ("mistral", "mistral-medium"),
        ("mistral", "mistral-small"),
        ("mistral", "ministral-8b"),
        ("mistral", "mistral-embed"),
        *((spec.price_key, spec.example_model) for spec in SPECS if not spec.own_server),
        ("gemini", "gemini-2.5-pro"),
        ("gemini", "gemini-2.5-flash-lite"),
        ("gemini", "gemini-embedding-001"),
    ],
)
def test_every_main_model_has_a_dated_sourced_price_with_batch_at_most_sync(
    provider: str, model: str
) -> None:
    price = builtin_prices().lookup(provider, model)
    assert price is not None
    assert price.as_of is not None and price.as_of >= date(2025, 1, 1)
    assert price.source is not None and price.source.startswith("https://")
    assert price.batch_input <= price.input
    assert price.batch_input > 0 or model.endswith(":free"), "only OpenRouter's :free cost $0"
    assert price.batch_output <= price.output


def test_gemini_batch_prices_are_half_the_standard_ones() -> None:
    for name in ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash-lite"):
        price = builtin_prices().lookup("gemini", name)
        assert price is not None
        assert (price.batch_input, price.batch_output) == (price.input / 2, price.output / 2)


def test_batch_price_is_half_the_sync_price_for_gpt_4o_mini() -> None:
    price = builtin_prices().lookup("openai", "gpt-4o-mini")
    assert price is not None
    assert (price.input, price.output, price.batch_input, price.batch_output) == (
        0.15,
        0.6,
        0.075,
        0.3,
    )


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("mistral-small-2506", "mistral-small"),
        ("mistral-large-latest", "mistral-large"),
        ("GPT-4.1-Nano", "gpt-4.1-nano"),
        ("claude-opus-4-1", "claude-opus-4-1"),
    ],
)
def test_dated_suffixes_are_removed_for_matching(name: str, base: str) -> None:
    assert base_model_name(name) == base


def test_a_dated_model_name_finds_its_family_price() -> None:
    price = builtin_prices().lookup("openai", "gpt-4o-mini-2024-07-18")
    assert price is not None and price.model == "gpt-4o-mini"


def test_an_exact_entry_wins_over_the_stripped_name() -> None:
    table = builtin_prices()
    old, new = (
        table.lookup("mistral", "mistral-large-2411"),
        table.lookup("mistral", "mistral-large-2512"),
    )
    assert old is not None and old.model == "mistral-large-2411"
    assert new is not None and new.model == "mistral-large"


def test_aliases_find_their_model() -> None:
    price = builtin_prices().lookup("anthropic", "claude-sonnet-4-0")
    assert price is not None and price.model == "claude-sonnet-4"


def test_an_unknown_model_has_no_price() -> None:
    assert builtin_prices().lookup("openai", "ft:gpt-4o-mini:acme::abc") is None
    assert builtin_prices().lookup("nobody", "gpt-4o") is None


def test_a_user_file_replaces_built_in_entries_and_adds_new_ones(tmp_path: Path) -> None:
    mine = tmp_path / "prices.toml"
    mine.write_text(
        '[openai."gpt-4o-mini"]\ninput = 1\noutput = 2\nbatch_input = 0.5\nbatch_output = 1\n'
        '[openai."my-model"]\ninput = 3\noutput = 4\nbatch_input = 3\nbatch_output = 4\n'
    )
    table = load_prices(environ={PRICES_ENV: str(mine)})
    replaced = table.lookup("openai", "gpt-4o-mini")
    assert replaced is not None
    assert (replaced.input, replaced.cached_input, replaced.as_of) == (1.0, None, None)
    assert table.lookup("openai", "my-model") is not None
    assert table.lookup("openai", "gpt-4o") is not None


def test_the_path_argument_wins_over_the_environment(tmp_path: Path) -> None:
    env_file, arg_file = tmp_path / "env.toml", tmp_path / "arg.toml"
    env_file.write_text('[openai."x"]\ninput = 1\noutput = 1\nbatch_input = 1\nbatch_output = 1\n')
    arg_file.write_text('[openai."x"]\ninput = 9\noutput = 9\nbatch_input = 9\nbatch_output = 9\n')
    price = load_prices(arg_file, environ={PRICES_ENV: str(env_file)}).lookup("openai", "x")
    assert price is not None and price.input == 9.0


def test_a_price_file_missing_a_key_names_the_entry_and_the_keys(tmp_path: Path) -> None:
    mine = tmp_path / "prices.toml"
    mine.write_text('[openai."x"]\ninput = 1\noutput = 1\nbatch_input = 1\n')
    with pytest.raises(ConfigError, match=r'\[openai\."x"\]: missing batch_output — the keys are'):
        load_prices(mine, environ={})


def test_a_missing_price_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=PRICES_ENV):
        load_prices(environ={PRICES_ENV: str(tmp_path / "nope.toml")})


def test_an_own_servers_models_cost_nothing_until_a_user_file_prices_them(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[openai-compatible."llama3.1:8b"]\n'
        "input = 0.05\noutput = 0.1\nbatch_input = 0.05\nbatch_output = 0.1\n"
    )
    built_in = builtin_prices()
    table = load_prices(environ={PRICES_ENV: str(mine)})

    free = built_in.lookup("openai-compatible", "any-model-a-server-loads")
    assert free is not None and (free.input, free.output) == (0.0, 0.0)
    assert free.source is not None and free.source.startswith("no charge")
    priced = table.lookup("openai-compatible", "llama3.1:8b")
    assert priced is not None and priced.output == 0.1
    other = table.lookup("openai-compatible", "qwen2.5:7b")
    assert other is not None and other.output == 0.0
    assert built_in.lookup("openai", "any-model-a-server-loads") is None
