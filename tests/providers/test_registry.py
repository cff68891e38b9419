"""The provider registry: one table that names every provider, read by everything else."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest
from provider_helpers import wait_done

from batchgraph.errors import ConfigError
from batchgraph.model import Kind, Outcome, Request
from batchgraph.pricing.table import parse_prices
from batchgraph.providers import adapter_class, open_provider, registry, sandbox_base_url
from batchgraph.providers.base import BatchTag, WireItem, account_for
from batchgraph.providers.registry import SPECS, Caps, ProviderSpec, split_name
from batchgraph.providers.settings import SANDBOX_API_KEY, resolve_settings
from batchgraph.report import priced_provider
from batchgraph.sandbox import personalities
from batchgraph.sandbox.personalities import PERSONALITIES, MiB, Personality
from batchgraph.sandbox.server import run_sandbox

DESIGN = Path(__file__).parents[2] / "docs" / "design.md"


def test_every_entry_names_a_served_personality_and_an_importable_adapter() -> None:
    assert len({spec.name for spec in SPECS}) == len(SPECS)
    for spec in SPECS:
        assert spec.sandbox in PERSONALITIES, spec.name
        module, _, name = spec.adapter.partition(":")
        assert hasattr(importlib.import_module(module), name), spec.adapter
        assert spec.key_env, spec.name


def test_each_host_gets_its_own_adapter_class_with_its_caps() -> None:
    groq, together = adapter_class("groq"), adapter_class("sandbox-together")

    assert groq is adapter_class("groq") and groq is not together
    assert (groq.name, groq.caps) == ("groq", split_name("groq")[0].caps)
    assert together.spec.price_key == "together"


def test_an_unknown_name_is_refused_with_every_known_one() -> None:
    with pytest.raises(ConfigError) as refused:
        split_name("nonsense")

    assert "unknown provider 'nonsense'" in str(refused.value)
    for name in registry.names():
        assert name in str(refused.value)


def test_keys_and_addresses_come_from_each_entrys_variables() -> None:
    env = {"GROQ_API_KEY": "g", "AZURE_OPENAI_API_KEY": "a", "OPENAI_API_VERSION": "2025-01-01"}

    groq = resolve_settings("groq", environ=env)
    with pytest.raises(ConfigError, match="set AZURE_OPENAI_ENDPOINT"):
        resolve_settings("azure-openai", environ=env)
    azure = resolve_settings(
        "azure-openai", environ={**env, "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com"}
    )
    with pytest.raises(ConfigError, match="set TOGETHER_API_KEY"):
        resolve_settings("together", environ={})

    assert (groq.api_key, groq.base_url) == ("g", "https://api.groq.com/openai/v1")
    assert azure.base_url == "https://r.openai.azure.com"
    assert azure.options["api_version"] == "2025-01-01"


def test_a_request_a_providers_batches_cannot_take_is_refused_with_where_to_send_it() -> None:
    embed = Request(id="e", line=3, model="m", input="text", kind=Kind.EMBEDDING)

    problem = adapter_class("groq").request_problem(embed)

    assert problem is not None and "Groq batches do not take embedding requests" in problem
    assert "openai" in problem and "mistral" in problem
    assert adapter_class("openai").request_problem(embed) is None


def test_the_sandbox_charges_what_the_provider_it_stands_in_for_would() -> None:
    assert priced_provider("sandbox-azure-openai") == "azure-openai"
    assert priced_provider("groq") == "groq"


def design_blocks() -> tuple[str, str]:
    """The Python and TOML blocks of the design notes' "new host" example."""
    section = DESIGN.read_text().split("## One registry of providers", 1)[1].split("\n## ")[0]
    python = re.search(r"```python\n(.*?)```", section, re.S)
    toml = re.search(r"```toml\n(.*?)```", section, re.S)
    assert python is not None and toml is not None
    return python[1], toml[1]


def test_the_design_notes_new_host_is_under_30_lines_and_runs_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, toml = design_blocks()
    assert len((python + toml).strip().splitlines()) < 30
    names = {"ProviderSpec": ProviderSpec, "Caps": Caps, "Personality": Personality, "MiB": MiB}
    code = re.sub(r"#.*\n", "", python).strip()
    entries = [eval(entry, names) for entry in re.split(r"\n(?=Personality\()", code)]
    spec, personality = entries
    assert isinstance(spec, ProviderSpec) and isinstance(personality, Personality)
    monkeypatch.setattr(registry, "SPECS", (*SPECS, spec))
    monkeypatch.setattr(personalities, "PERSONALITIES", {**PERSONALITIES, "example": personality})
    prices = parse_prices(tomllib.loads(toml), "design.md")

    with run_sandbox(tmp_path / "sandbox") as sandbox:
        base_url = sandbox_base_url("example", sandbox.url)
        provider = open_provider("example", api_key=SANDBOX_API_KEY, base_url=base_url)
        request = Request(
            id="1", line=1, model="example-small", messages=({"role": "user", "content": "hi"},)
        )
        batch_id = provider.create_batch([WireItem("c1", request)], BatchTag("job", 0, 0))
        assert wait_done(provider, batch_id).done
        (result,) = account_for(provider.results(batch_id), ["c1"], batch_id)
        creations = sandbox.creations("example")

    assert type(provider).name == "example" and provider.caps == spec.caps
    assert result.outcome is Outcome.SUCCEEDED
    assert [c.batch_id for c in creations] == [batch_id]
    assert prices.lookup(priced_provider("example"), "example-small") is not None
