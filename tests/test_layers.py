"""The layering rule, checked on every run: web and cli call services, services call storage,
never the other way round; only render.py touches markdown-it-py and nh3, only metrics.py
prometheus-client and statsd."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "commentd"

# module prefix -> imports it must never make
FORBIDDEN = {
    "commentd.storage": ("commentd.services", "commentd.web", "commentd.cli", "bottle", "click"),
    "commentd.services": ("commentd.web", "commentd.cli", "bottle", "click", "waitress"),
    # web may name models' types and hold a connection open, but builds no query itself
    "commentd.web": ("commentd.cli", "click", "peewee", "playhouse", "commentd.storage.migrations"),
    "commentd.cli": ("bottle", "peewee", "playhouse"),
    "commentd.config": ("commentd.services", "commentd.web", "commentd.storage", "bottle"),
    "commentd.errors": ("commentd.",),
}
RENDER_ONLY = ("markdown_it", "nh3", "linkify_it")
METRICS_ONLY = ("prometheus_client", "statsd")


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=lambda v: str(v))
def test_layering(name, path):
    imported = imports_of(path)
    for prefix, banned in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + "."):
            bad = sorted(
                i for i in imported for b in banned if i == b.rstrip(".") or i.startswith(b)
            )
            assert not bad, f"{name} imports {bad}"
    if name != "commentd.services.render":
        bad = sorted(i for i in imported if i.split(".")[0] in RENDER_ONLY)
        assert not bad, f"{name} imports {bad}; only commentd.services.render may"
    if name != "commentd.services.metrics":
        bad = sorted(i for i in imported if i.split(".")[0] in METRICS_ONLY)
        assert not bad, f"{name} imports {bad}; only commentd.services.metrics may"


def test_the_check_sees_every_module():
    names = {name for name, _ in modules()}
    assert {"commentd.web.api", "commentd.services.render", "commentd.storage.models"} <= names
