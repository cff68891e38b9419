"""Duplicate ids are found from 64-bit hashes, then confirmed with the real ids."""

from __future__ import annotations

from batchgraph.io.duplicates import IdHashes, duplicate_problems, id_hash


def test_unique_ids_have_no_repeated_hashes() -> None:
    hashes = IdHashes()
    for n in range(100_000):
        hashes.add(f"row-{n}")
    assert len(hashes) == 100_000
    assert hashes.repeated() == set()


def test_a_repeated_id_is_found_and_every_later_line_named() -> None:
    hashes = IdHashes()
    ids = ["a", "b", "a", "c", "a"]
    for request_id in ids:
        hashes.add(request_id)
    repeated = hashes.repeated()
    assert repeated == {id_hash("a")}
    problems = list(duplicate_problems(enumerate(ids, start=1), repeated))
    assert [(p.line, p.problem) for p in problems] == [
        (3, "duplicate id 'a' (also on line 1)"),
        (5, "duplicate id 'a' (also on line 1)"),
    ]
