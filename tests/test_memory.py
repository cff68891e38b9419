"""The CLI's process asks glibc for one malloc arena (see `runner.memory`)."""

from __future__ import annotations

import platform

import pytest

from batchgraph.runner.memory import use_one_malloc_arena


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_glibc_takes_the_one_arena_setting() -> None:
    assert use_one_malloc_arena() is True
