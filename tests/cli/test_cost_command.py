"""`batchgraph cost` names where its prices came from and warns when they are old."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchgraph.cli import app

runner = CliRunner()


def test_cost_names_the_price_source_and_warns_about_an_old_price(
    home: Path, reviews: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[openai."gpt-4o-mini"]\ninput = 0.2\noutput = 0.8\nbatch_input = 0.1\n'
        'batch_output = 0.4\nas_of = 2020-01-01\nsource = "our contract"\n'
    )
    monkeypatch.setenv("BATCHGRAPH_PRICES", str(prices))
    ran = runner.invoke(app, ["submit", str(reviews), "-p", "sandbox-openai", "-m", "gpt-4o-mini",
                              "--prompt-template", "Rate: {text}"])  # fmt: skip
    job = ran.stdout.split()[0]
    assert runner.invoke(app, ["collect", job]).exit_code == 0

    result = runner.invoke(app, ["cost", job])

    assert result.exit_code == 0, result.output
    assert "priced from gpt-4o-mini: our contract as of 2020-01-01" in result.stdout
    assert "warning: the price of gpt-4o-mini is" in result.stderr
    assert "days old (as of 2020-01-01)" in result.stderr
