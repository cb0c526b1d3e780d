"""contrib/: the systemd unit and the Dockerfile name commands and options that exist, the
Dockerfile (checked statically: no Docker daemon in CI) is multi-stage and safe, and the
proxies leave compression to commentd. .ci/check-contrib runs each file's own tool."""

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
from commentd.storage.database import sqlite_path

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


def dockerfile() -> list[dict[str, list[str]]]:
    """Each stage's instructions -> their arguments, continuation lines joined, comments
    dropped; one dict per FROM."""
    text = (CONTRIB / "Dockerfile").read_text()
    text = re.sub(r"^\s*#.*\n", "", text, flags=re.MULTILINE).replace("\\\n", " ")
    stages: list[dict[str, list[str]]] = []
    for line in text.splitlines():
        if line.strip():
            instruction, _, rest = line.strip().partition(" ")
            if instruction.upper() == "FROM":
                stages.append({})
            stages[-1].setdefault(instruction.upper(), []).append(rest.strip())
    return stages


def test_the_dockerfile_runs_serve_with_real_options():
    final = dockerfile()[-1]
    [cmd] = final["CMD"]
    argv = json.loads(cmd)  # the exec form: commentd gets SIGTERM and SIGHUP itself
    context = parse_command_line(argv)
    assert context.info_name == "serve"
    assert context.params["host"] == "0.0.0.0"  # noqa: S104 - inside a container
    assert final["EXPOSE"] == [str(context.params["port"])]
    [user] = final["USER"]
    uid, _, gid = user.partition(":")
    assert uid not in ("root", "0")
    assert gid not in ("root", "0")
    assert f"--uid {uid}" in " ".join(final["RUN"])  # the user exists in the image


def test_the_dockerfile_builds_in_one_stage_and_ships_no_source():
    build, *_, final = dockerfile()
    [base_and_name] = build["FROM"]
    base, _, name = base_and_name.partition(" AS ")
    assert name, "the build stage is named, for COPY --from"
    assert "pip install --prefix=/install ." in " ".join(build["RUN"])
    # The installed tree lands in /usr/local of the same Python image it was built with.
    assert final["FROM"] == [base]
    assert final["COPY"] == [f"--from={name} /install /usr/local"]
    assert "ADD" not in final


def test_the_dockerfile_keeps_the_database_in_the_volume_and_checks_health():
    final = dockerfile()[-1]
    env = dict(
        item.split("=", 1) for line in final["ENV"] for item in shlex.split(line) if "=" in item
    )
    config = load_config(None, environ=env)
    database = Path(sqlite_path(config.database.url))
    assert database.is_absolute()
    assert final["VOLUME"] == [str(database.parent)]
    assert final["WORKDIR"] == [str(database.parent)]
    [check] = final["HEALTHCHECK"]
    options, _, command = check.partition(" CMD ")
    argv = json.loads(command)
    assert argv[0] == "python"  # the final image is a Python image: urllib is there
    assert f"http://127.0.0.1:{final['EXPOSE'][0]}/health" in argv[-1]
    assert "--timeout=" in options


def dockerignored(path: str) -> bool:
    """Whether the root .dockerignore keeps PATH out of the build context (Docker's rules:
    patterns from the root, ``**`` any directories, a matched directory takes its contents)."""
    patterns = []
    for line in (CONTRIB.parent / ".dockerignore").read_text().splitlines():
        line = line.strip().rstrip("/")
        if line and not line.startswith("#"):
            assert not line.startswith("!"), "exceptions are not modelled here"
            regex = re.escape(line).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
            patterns.append(re.compile(regex.replace(r"\?", "[^/]")))
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return any(p.fullmatch(prefix) for p in patterns for prefix in prefixes)


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "commentd.db",
        "commentd.db-wal",
        "data/comments.db-shm",
        "dist/commentd",
        "build/lib/commentd/app.py",
        "commentd/__pycache__/app.cpython-312.pyc",
        "tests/browser/node_modules/axe-core/axe.js",
        "commentd.egg-info/PKG-INFO",
    ],
)
def test_the_build_context_leaves_out(path):
    assert dockerignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "setup.py",
        "pyproject.toml",
        "README.md",
        "commentd/app.py",
        "commentd/static/js/embed.js",
        "commentd/openapi.json",
    ],
)
def test_the_build_context_keeps_what_pip_install_needs(path):
    assert not dockerignored(path)


def directives(name: str) -> list[str]:
    """A proxy config's lines, comments dropped (nginx and the Caddyfile both use ``#``)."""
    lines = ((CONTRIB / name).read_text()).splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_nginx_leaves_compression_to_commentd():
    lines = directives("nginx.conf")
    # gzip off in the TLS server, against a `gzip on` in Debian's http{}; no other gzip_*,
    # no gunzip or brotli, and nothing that recompresses proxied responses (gzip_proxied).
    compression = [line for line in lines if re.match(r"(gzip|gunzip|brotli)\w*\s", line)]
    assert compression == ["gzip off;"]
    server = "\n".join(lines).split("listen 443", 1)[1]
    assert "gzip off;" in server.split("location", 1)[0]
    # The client's Accept-Encoding reaches commentd, and its Vary reaches the cache.
    assert not [line for line in lines if "accept-encoding" in line.lower()]
    assert not [line for line in lines if re.match(r"proxy_(hide|ignore)_headers?\s", line)]


def test_caddy_leaves_compression_to_commentd():
    lines = directives("Caddyfile")
    assert not [line for line in lines if re.match(r"encode\b", line)]
    assert not [line for line in lines if "accept-encoding" in line.lower()]
