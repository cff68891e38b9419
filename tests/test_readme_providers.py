"""README's table of providers is the registry's: a new entry must appear there."""

from __future__ import annotations

from pathlib import Path

from batchgraph.providers.registry import SANDBOX_PREFIX, SPECS, ProviderSpec

README = Path(__file__).parents[1] / "README.md"


def row(spec: ProviderSpec) -> str:
    keys = " or ".join(f"`{name}`" for name in spec.key_env)
    need = "required" if spec.base_url_required else "optional"
    address = f"`{spec.base_url_env}` ({need})" if spec.base_url_env else "—"
    if spec.own_server:
        keys = f"{keys}, or the variable `--api-key-env` names (none needed by default)"
        address = f"`--base-url` ({need})"
    options = ", ".join(
        f"`{variable}` ({option}, default `{spec.options[option]}`)"
        for option, variable in spec.option_env.items()
    )
    return f"| `{spec.name}` | {keys} | {address} | {options or '—'} |"


def providers_table() -> list[str]:
    sandboxes = ", ".join(f"`{SANDBOX_PREFIX}{spec.name}`" for spec in SPECS)
    return [
        "| `--provider` | key from | address from | also read |",
        "| --- | --- | --- | --- |",
        *(row(spec) for spec in SPECS),
        f"| {sandboxes} | none | a sandbox started inside the process, its state in "
        "`.batchgraph/sandbox/` | — |",
    ]


def test_readme_lists_every_provider_as_the_registry_does() -> None:
    table = "\n".join(providers_table())

    assert table in README.read_text(), "regenerate README's table:\n" + table
