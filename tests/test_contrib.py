"""contrib/: the systemd unit and the Dockerfile name commands and options that exist."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path

import click
import pytest

from commentd.cli import cli
from commentd.config import load_config

CONTRIB = Path(__file__).resolve().parents[1] / "contrib"


def parse_command_line(argv: list[str]) -> click.Context:
    """Parse ``commentd ...`` as the CLI would, without running it; fails on unknown options."""
    assert Path(argv[0]).name == "commentd", argv
    name, *args = argv[1:]
    command = cli.commands.get(name)
    assert command is not None, f"no command {name!r}"
    return command.make_context(name, list(args))


@pytest.fixture(scope="module")
def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((CONTRIB / "commentd.service").read_text())
    return parser


def test_the_unit_starts_serve_with_real_options(unit):
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].startswith("/")  # systemd wants an absolute path
    context = parse_command_line(argv)
    assert context.info_name == "serve"
    assert context.params["config_path"] == "/etc/commentd/commentd.ini"


def test_the_unit_reloads_with_sighup_and_is_hardened(unit):
    service = unit["Service"]
    assert shlex.split(service["ExecReload"])[1:] == ["-HUP", "$MAINPID"]
    assert service["Restart"] == "on-failure"
    assert service["User"] == "commentd"
    assert service["WorkingDirectory"] == "/var/lib/commentd"
    assert service["WorkingDirectory"] in service["ReadWritePaths"].split()
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert service[key] == value, key
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def dockerfile() -> dict[str, list[str]]:
    """Instructions -> their arguments, continuation lines joined, comments dropped."""
    text = (CONTRIB / "Dockerfile").read_text()
    text = re.sub(r"^\s*#.*\n", "", text, flags=re.MULTILINE).replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip():
            instruction, _, rest = line.strip().partition(" ")
            found.setdefault(instruction.upper(), []).append(rest.strip())
    return found


def test_the_dockerfile_runs_serve_with_real_options():
    found = dockerfile()
    assert found["FROM"] == ["python:3.11-slim"]
    [cmd] = found["CMD"]
    argv = json.loads(cmd)  # the exec form: commentd gets SIGTERM and SIGHUP itself
    context = parse_command_line(argv)
    assert context.info_name == "serve"
    assert context.params["host"] == "0.0.0.0"  # noqa: S104 - inside a container
    assert found["EXPOSE"] == [str(context.params["port"])]
    assert found["VOLUME"] == ["/data"]
    [user] = found["USER"]
    assert user not in ("root", "0")


def test_the_dockerfile_keeps_the_database_under_data_and_checks_health():
    found = dockerfile()
    env = dict(
        item.split("=", 1) for line in found["ENV"] for item in shlex.split(line) if "=" in item
    )
    config = load_config(None, environ=env)
    assert config.database.url == "sqlite:////data/commentd.db"
    [check] = found["HEALTHCHECK"]
    assert "CMD" in check
    assert "python" in check
    assert "/health" in check
    assert "pip install ." in " ".join(found["RUN"])
