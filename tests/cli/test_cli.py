"""The commentd command: init, migrate, serve, and clean errors."""

from __future__ import annotations

import configparser
import json
import os
import signal
import subprocess
import sys
from http.client import HTTPConnection

import pytest
from click.testing import CliRunner

from commentd.cli import cli
from commentd.config import load_config
from commentd.storage.database import connection, open_database
from commentd.storage.migrations import all_migrations, current_version
from tests.net import free_port, wait_for


@pytest.fixture
def runner():
    return CliRunner()


def test_version(runner):
    from commentd.version import __version__

    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


class TestInit:
    def test_writes_a_loadable_config_with_a_fresh_secret(self, runner, tmp_path):
        out = tmp_path / "commentd.ini"
        result = runner.invoke(
            cli, ["init", "--site-url", "https://blog.example.com/", "-o", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "commentd serve --config" in result.output
        config = load_config(out, environ={})
        assert config.server.allowed_origins == ("https://blog.example.com",)
        assert config.site.url == "https://blog.example.com"
        assert len(config.security.secret) >= 32
        assert oct(out.stat().st_mode & 0o777) == "0o600"
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(out)
        assert "# port = 8080" in out.read_text()  # every other key is documented, commented

        second = tmp_path / "other.ini"
        runner.invoke(cli, ["init", "--site-url", "https://blog.example.com", "-o", str(second)])
        assert load_config(second, environ={}).security.secret != config.security.secret

    def test_refuses_to_overwrite_without_force(self, runner, tmp_path):
        out = tmp_path / "commentd.ini"
        out.write_text("keep me")
        result = runner.invoke(cli, ["init", "--site-url", "https://b.example", "-o", str(out)])
        assert result.exit_code == 1
        assert "--force" in result.output
        assert out.read_text() == "keep me"
        result = runner.invoke(
            cli, ["init", "--site-url", "https://b.example", "-o", str(out), "--force"]
        )
        assert result.exit_code == 0
        assert load_config(out, environ={}).server.allowed_origins == ("https://b.example",)

    def test_bad_site_url_is_one_clear_line(self, runner, tmp_path):
        out = tmp_path / "commentd.ini"
        result = runner.invoke(cli, ["init", "--site-url", "not a url", "-o", str(out)])
        assert result.exit_code == 1
        assert "[site] url" in result.output
        assert "Traceback" not in result.output
        assert not out.exists()

    def test_needs_site_url_when_not_in_a_terminal(self, runner, tmp_path):
        result = runner.invoke(cli, ["init", "-o", str(tmp_path / "c.ini")], input="")
        assert result.exit_code == 2
        assert "--site-url" in result.output

    def test_asks_in_a_terminal(self, runner, tmp_path, monkeypatch):
        monkeypatch.setattr("commentd.cli._interactive", lambda: True)
        out = tmp_path / "c.ini"
        result = runner.invoke(cli, ["init", "-o", str(out)], input="https://asked.example\n")
        assert result.exit_code == 0, result.output
        assert load_config(out, environ={}).server.allowed_origins == ("https://asked.example",)


def test_migrate(runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    result = runner.invoke(cli, ["migrate"], env={"COMMENTD_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert f"schema version {all_migrations()[-1].version}" in result.output
    assert "applied 1:" in result.output
    result = runner.invoke(cli, ["migrate"], env={"COMMENTD_DATABASE_URL": url})
    assert "up to date" in result.output
    db = open_database(url)
    with connection():
        assert current_version(db) == all_migrations()[-1].version


def test_bad_config_is_one_line_without_traceback(runner, tmp_path):
    bad = tmp_path / "bad.ini"
    bad.write_text("[server]\nprot = 80\n")
    result = runner.invoke(cli, ["serve", "--config", str(bad)])
    assert result.exit_code == 1
    assert "prot" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli, ["migrate"], env={"COMMENTD_CONFIG": str(bad)})
    assert result.exit_code == 1
    assert "prot" in result.output


def request(port, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        res = conn.getresponse()
        return res.status, res.getheader("Content-Type"), res.read()
    finally:
        conn.close()


def start_server(cwd, port, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "commentd", "serve", "--port", str(port), *extra],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_zero_config_serve_demo_thread_restart_and_sigterm(tmp_path):
    """No config at all: ./commentd.db, the demo page, a working thread, tokens that survive
    a restart (the generated secret is kept), and a clean exit on SIGTERM."""
    port = free_port()
    server = start_server(tmp_path, port)
    try:
        wait_for(port, server)
        status, content_type, body = request(port, "GET", "/")
        assert status == 200
        assert content_type.startswith("text/html")
        assert b"commentd" in body
        status, _, body = request(port, "POST", "/api/comments?uri=/demo/", {"text": "hi"})
        assert status == 201
        token = json.loads(body)["token"]
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=15)
        assert server.returncode == 0
        assert "commentd stopped" in stderr
        assert "GET / 200" in stderr  # one access-log line per request
        assert (tmp_path / "commentd.db").exists()

        server = start_server(tmp_path, port)
        wait_for(port, server)
        status, _, body = request(port, "GET", "/api/comments/1", token=token)
        assert status == 200
        assert json.loads(body)["comment"]["text"] == "hi"
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=15)


def test_serve_reports_a_busy_port(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = start_server(tmp_path, port)
        _, stderr = server.communicate(timeout=20)
    assert server.returncode == 1
    assert "cannot start" in stderr
    assert "Traceback" not in stderr
