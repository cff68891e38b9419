"""Write the demo's input: synthetic product reviews, generated from templates with a fixed seed.

Run `python scripts/make_demo_data.py` to regenerate `src/batchgraph/data/reviews.csv`.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

PRODUCTS = [
    "kettle",
    "desk lamp",
    "running shoes",
    "phone case",
    "coffee grinder",
    "backpack",
    "wireless earbuds",
    "yoga mat",
    "water bottle",
    "office chair",
    "toaster",
    "rain jacket",
]
OPENINGS = {
    "positive": [
        "Really happy with this {p}.",
        "Love the {p}!",
        "Best {p} I've owned.",
        "Great {p}, exactly as described.",
    ],
    "negative": [
        "Disappointed with the {p}.",
        "The {p} stopped working.",
        "Would not buy this {p} again.",
        "Terrible {p}.",
    ],
    "neutral": [
        "The {p} is fine.",
        "It's an ordinary {p}.",
        "The {p} does the job.",
        "Average {p}, nothing special.",
    ],
}
DETAILS = {
    "quality": [
        "It feels solid and well made.",
        "The stitching came apart after a week.",
        "Build quality is what you'd expect.",
    ],
    "shipping": [
        "Delivery took three weeks.",
        "It arrived a day early.",
        "The box was crushed on arrival.",
    ],
    "price": ["Worth every penny.", "Overpriced for what you get.", "The price is about right."],
    "support": [
        "Customer service never answered my email.",
        "Support replaced it within days.",
        "I had to call support twice.",
    ],
    "usability": [
        "Setup took two minutes.",
        "The instructions make no sense.",
        "Easy to use every day.",
    ],
}
ENDINGS = [
    "",
    "",
    "Please contact me about a refund.",
    "Would recommend to friends.",
    "Can someone help me with this?",
    "Five stars.",
    "One star.",
]


def review(rng: random.Random) -> tuple[str, str]:
    mood = rng.choice(list(OPENINGS))
    topic = rng.choice(list(DETAILS))
    product = rng.choice(PRODUCTS)
    parts = [
        rng.choice(OPENINGS[mood]).format(p=product),
        rng.choice(DETAILS[topic]),
        rng.choice(ENDINGS),
    ]
    return product, " ".join(p for p in parts if p)


def main(count: int = 3000, seed: int = 20261126) -> None:
    rng = random.Random(seed)
    out = Path(__file__).resolve().parents[1] / "src" / "batchgraph" / "data" / "reviews.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review_id", "product", "text"])
        for n in range(1, count + 1):
            product, text = review(rng)
            writer.writerow([f"R{n:05d}", product, text])
    print(f"wrote {count} reviews to {out}")


if __name__ == "__main__":
    main()
