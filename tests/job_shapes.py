"""Three shapes of job over the demo's reviews, for the cost-estimate tests."""

from __future__ import annotations

import csv
from pathlib import Path

from batchgraph.io import ReadOptions
from batchgraph.io.options import load_output_schema

DATA = Path(__file__).parents[1] / "src" / "batchgraph" / "data"
SHAPES = ("schema labels", "short free text", "long summaries")


def reviews_slice(tmp_path: Path, name: str, start: int, count: int) -> Path:
    """`count` rows of the demo's reviews from row `start`, as a CSV of their own."""
    with (DATA / "reviews.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([rows[0], *rows[1 + start : 1 + start + count]])
    return path


def shapes(model: str) -> dict[str, ReadOptions]:
    """Labels with a JSON schema, short free text, and long summaries under `max_tokens`."""
    return {
        "schema labels": ReadOptions(
            model=model,
            template="Classify this review: {text}",
            output_schema=load_output_schema(DATA / "review_labels.schema.json"),
        ),
        "short free text": ReadOptions(model=model, template="In three words, the mood of: {text}"),
        "long summaries": ReadOptions(
            model=model, template="Summarise at length: {text}", max_tokens=40
        ),
    }
