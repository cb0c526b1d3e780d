"""docs/cli.md documents every command and every option the CLI has."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from commentd.cli import cli

DOC = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()


def commands(group: click.Group, prefix: str = "commentd"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


ALL = list(commands(cli))


@pytest.mark.parametrize(("path", "command"), ALL, ids=[p for p, _ in ALL])
def test_command_and_options_are_documented(path, command):
    assert f"## {path}\n" in DOC, f"docs/cli.md has no '## {path}' heading"
    section = DOC.split(f"## {path}\n", 1)[1].split("\n## ", 1)[0]
    for param in command.params:
        if isinstance(param, click.Option):
            assert any(f"`{opt}" in section for opt in param.opts), (
                f"{path}: option {param.opts} is not documented"
            )
