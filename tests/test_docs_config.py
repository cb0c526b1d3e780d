"""docs/configuration.md and commentd.ini.example stay in step with the settings registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from commentd.config import SETTINGS, example_ini

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "configuration.md"
EXAMPLE = ROOT / "commentd.ini.example"


def docs_entries() -> dict[str, str]:
    """Each ``### section.key`` heading of the docs mapped to the text up to the next heading."""
    text = DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^### (\S+)[ \t]*$", text, flags=re.MULTILINE)
    entries = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        entries[name] = re.split(r"^#{1,3} ", body, maxsplit=1, flags=re.MULTILINE)[0]
    return entries


def test_docs_have_one_heading_per_setting_in_registry_order():
    assert list(docs_entries()) == [s.name for s in SETTINGS]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_docs_entry_gives_default_and_environment_variable(setting):
    body = docs_entries().get(setting.name)
    assert body is not None, f"docs/configuration.md lacks a '### {setting.name}' heading"
    assert f"`{setting.env_var}`" in body
    default = f"`{setting.default}`" if setting.default else "empty"
    assert f"Default: {default}" in body


def test_example_file_matches_the_registry():
    assert EXAMPLE.read_text(encoding="utf-8") == example_ini(), (
        "commentd.ini.example is stale: run "
        "`.venv/bin/python -m commentd.config > commentd.ini.example`"
    )
