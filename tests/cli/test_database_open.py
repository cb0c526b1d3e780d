"""A database that cannot be opened stops every command with one line, the URL, the reason
and what to do, and exit code 1; one that opens only read-only serves reads and answers
writes with ``503 unavailable``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from http.client import HTTPConnection

import click
import pytest
from click.testing import CliRunner

from commentd.cli import cli
from tests.cli.helpers import failed
from tests.net import free_port, wait_for

#: Arguments for each command that needs some (placeholders: the database fails first).
ARGUMENTS = {
    "admin set-password": ["--password-stdin"],
    "comments show": ["1"],
    "comments approve": ["1"],
    "comments delete": ["1"],
    "comments spam": ["1"],
    "comments edit": ["1", "--text", "x"],
    "comments pin": ["1"],
    "threads lock": ["/p/"],
    "threads unlock": ["/p/"],
    "threads rename": ["/p/", "/q/"],
    "threads remap": ["{tmp}/in.json"],
    "threads delete": ["/p/", "--yes"],
    "ban": ["ip", "192.0.2.1"],
    "unban": ["ip", "192.0.2.1"],
    "export": ["{tmp}/out.json"],
    "backup": ["{tmp}/backup.db"],
    "import": ["{tmp}/in.json"],
    "privacy export": ["--email", "a@example.com"],
    "privacy delete": ["--email", "a@example.com", "--yes"],
    "outbox retry": ["1"],
    "purge": ["--spam-older-than", "30d"],
    "webmention send": ["https://blog.example.com/post/"],
    "fediverse publish": ["https://blog.example.com/post/"],
}
#: Commands that open no database, or report on it rather than stop (``check``).
NO_DATABASE = {"init", "serve", "check", "mail test"}


def leaf_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*prefix, name))
        else:
            found.append(" ".join((*prefix, name)))
    return found


def unopenable(tmp_path, kind: str) -> tuple[str, str]:
    """A database URL that cannot be opened, and the hint its error must give."""
    if kind == "missing folder":
        return f"sqlite:///{tmp_path}/nowhere/commentd.db", "does not exist"
    if kind == "a folder":
        (tmp_path / "folder.db").mkdir()
        return f"sqlite:///{tmp_path}/folder.db", "that is a folder"
    (tmp_path / "notes.db").write_text("these are not the comments you are looking for\n" * 99)
    return f"sqlite:///{tmp_path}/notes.db", "not a SQLite database"


KINDS = ["missing folder", "a folder", "not a database"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", sorted(set(leaf_commands()) - NO_DATABASE))
def test_every_command_says_it_cannot_open_the_database(tmp_path, monkeypatch, command, kind):
    url, hint = unopenable(tmp_path, kind)
    (tmp_path / "in.json").write_text("")
    monkeypatch.setenv("COMMENTD_DATABASE_URL", url)
    args = [arg.format(tmp=tmp_path) for arg in ARGUMENTS.get(command, [])]
    result = CliRunner().invoke(cli, [*command.split(), *args], input="pw-long-enough\n" * 2)
    failed(result, f"Error: cannot open the database {url}: ")
    assert hint in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_check_reports_the_same_reason(tmp_path, monkeypatch):
    url, hint = unopenable(tmp_path, "missing folder")
    monkeypatch.setenv("COMMENTD_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert f"cannot open the database {url}: " in result.output
    assert hint in result.output
    assert "Traceback" not in result.output


def test_a_postgresql_password_is_not_shown(monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("COMMENTD_DATABASE_URL", f"postgresql://u:hunter2@127.0.0.1:{port}/x")
    result = CliRunner().invoke(cli, ["migrate"])
    failed(result, f"cannot open the database postgresql://u:***@127.0.0.1:{port}/x: ")
    assert "hunter2" not in result.output
    assert "check that the server runs" in result.output


def serve(tmp_path, url: str, port: int, **env: str) -> subprocess.Popen:
    environ = {
        **os.environ,
        "COMMENTD_DATABASE_URL": url,
        "COMMENTD_SERVER_PORT": str(port),
        "COMMENTD_SERVER_ALLOWED_ORIGINS": "https://blog.example.com",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "commentd", "serve"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_serve_says_it_in_one_line(tmp_path, kind):
    url, hint = unopenable(tmp_path, kind)
    server = serve(tmp_path, url, free_port())
    _, stderr = server.communicate(timeout=60)
    assert server.returncode == 1
    assert stderr.strip().splitlines() == [stderr.strip()], stderr
    assert stderr.startswith(f"Error: cannot open the database {url}: ")
    assert hint in stderr


# -- read-only -------------------------------------------------------------------------------


@pytest.fixture
def read_only_folder(tmp_path):
    """``make(source_folder) -> path``: the folder's files behind a read-only bind mount (as
    root, which ignores file modes), or with the write bits taken off (as anyone else)."""
    mounts = []

    def make(source):
        if os.geteuid() != 0:
            for path in [source, *source.iterdir()]:
                path.chmod(0o555 if path.is_dir() else 0o444)
            return source
        target = tmp_path / f"ro-{len(mounts)}"
        target.mkdir()
        for args in (["--bind", source, target], ["-o", "remount,ro,bind", target]):
            subprocess.run(["mount", *map(str, args)], check=True, capture_output=True)
        mounts.append(target)
        return target

    yield make
    for target in mounts:
        subprocess.run(["umount", "-l", str(target)], check=False)
    if os.geteuid() != 0:
        for path in tmp_path.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)


def request(port, method, path, body=None):
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Origin": "https://blog.example.com"}
    try:
        conn.request(method, path, json.dumps(body) if body else None, headers)
        res = conn.getresponse()
        return res.status, json.loads(res.read())
    finally:
        conn.close()


def written_database(tmp_path, env: dict[str, str], leave_wal: bool):
    """A folder holding a commentd database with one approved comment on /post/: closed
    cleanly (no -wal or -shm beside it), or copied while the server ran (both beside it, the
    comment still in the -wal), as after a crash or on a replica."""
    source, folder = tmp_path / "written", tmp_path / "data"
    source.mkdir()
    folder.mkdir()
    port = free_port()
    server = serve(tmp_path, f"sqlite:///{source}/commentd.db", port, **env)
    try:
        wait_for(port, server)
        assert request(port, "POST", "/api/comments?uri=/post/", {"text": "kept"})[0] == 201
        if leave_wal:
            for name in ("commentd.db", "commentd.db-wal", "commentd.db-shm"):
                shutil.copy(source / name, folder / name)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    if not leave_wal:
        with contextlib.closing(sqlite3.connect(source / "commentd.db")) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert not (source / "commentd.db-wal").exists()  # the last close removes it
        shutil.copy(source / "commentd.db", folder / "commentd.db")
    return folder


@pytest.mark.parametrize("leave_wal", [False, True], ids=["closed cleanly", "with -wal, -shm"])
def test_a_read_only_database_serves_reads_and_refuses_writes(
    tmp_path, read_only_folder, leave_wal
):
    secret = {"COMMENTD_SECURITY_SECRET": "s" * 40}
    folder = read_only_folder(written_database(tmp_path, secret, leave_wal))
    port = free_port()
    server = serve(tmp_path, f"sqlite:///{folder}/commentd.db", port, **secret)
    try:
        wait_for(port, server)
        status, body = request(port, "GET", "/api/comments?uri=/post/")
        assert status == 200
        assert [c["html"] for c in body["comments"]] == ["<p>kept</p>\n"]
        status, body = request(port, "POST", "/api/comments?uri=/post/", {"text": "new"})
        assert status == 503
        assert body["error"]["code"] == "unavailable"
        status, body = request(port, "GET", "/api/comments?uri=/post/")
        assert [c["html"] for c in body["comments"]] == ["<p>kept</p>\n"]
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "write refused: the database is read-only" in stderr
    assert "Traceback" not in stderr


def test_a_read_only_database_without_a_secret_says_so(tmp_path, read_only_folder):
    folder = tmp_path / "data"
    folder.mkdir()
    sqlite3.connect(folder / "commentd.db").close()  # an empty database: no schema, no secret
    folder = read_only_folder(folder)
    server = serve(tmp_path, f"sqlite:///{folder}/commentd.db", free_port())
    _, stderr = server.communicate(timeout=60)
    assert server.returncode == 1
    assert "it is read-only and needs migrating" in stderr
    assert "Traceback" not in stderr
