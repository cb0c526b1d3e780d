"""``commentd serve`` caps glibc's malloc arenas (see "Memory under a write soak" in
docs/performance.md)."""

from __future__ import annotations

import platform

import pytest

from commentd.web.server import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_arenas_are_capped_on_glibc(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas() is True


def test_malloc_arena_max_in_the_environment_is_the_operators_choice(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
