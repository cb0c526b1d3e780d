"""``commentd mail test`` and ``commentd outbox ...``, and a worker killed mid-send."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path

import pytest
from click.testing import CliRunner

from commentd.cli import cli
from commentd.services import mail, outbox
from commentd.services.site import open_site
from commentd.storage.database import connection
from commentd.storage.models import OutboxMessage, utcnow
from tests.cli.helpers import table_rows
from tests.net import free_port, wait_for
from tests.services.test_mail import Mailbox, mailbox  # noqa: F401 - a fixture

ADMIN = "admin@blog.example.com"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_ini(path: Path, sections: dict[str, dict[str, object]]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def ini(tmp_path, database_url, mailbox: Mailbox):  # noqa: F811
    """A config file sending mail to ``mailbox``; ``extra`` sections override."""

    def make(**extra: dict[str, object]) -> str:
        sections: dict[str, dict[str, object]] = {
            "database": {"url": database_url},
            "security": {"secret": "s" * 40},
            "mail": {
                "host": "127.0.0.1",
                "port": mailbox.port,
                "security": "none",
                "sender": "comments@blog.example.com",
                "admin": ADMIN,
            },
        }
        for section, values in extra.items():
            sections.setdefault(section, {}).update(values)
        return str(write_ini(tmp_path / "commentd.ini", sections))

    return make


# -- commentd mail test --------------------------------------------------------------------


def test_mail_test_sends_to_the_admin_or_to(runner, ini, mailbox):  # noqa: F811
    path = ini()
    result = runner.invoke(cli, ["mail", "test", "--config", path])
    assert result.exit_code == 0, result.output
    assert f"sent a test mail to {ADMIN}" in result.output
    result = runner.invoke(cli, ["mail", "test", "--config", path, "--to", "me@example.com"])
    assert result.exit_code == 0, result.output
    assert [r.rcpt_tos for r in mailbox.received] == [[ADMIN], ["me@example.com"]]
    assert mailbox.received[0].message["Subject"] == "commentd test mail"
    assert outbox.counts() == {"pending": 0, "sent": 0, "failed": 0}  # not queued


def test_mail_test_failures_are_one_clear_line(runner, ini, mailbox):  # noqa: F811
    closed = free_port()
    result = runner.invoke(cli, ["mail", "test", "--config", ini(mail={"port": closed})])
    assert result.exit_code == 1
    assert f"Sending through 127.0.0.1:{closed} failed: ConnectionRefusedError" in result.output
    assert "Traceback" not in result.output

    mailbox.mode = "reject"
    result = runner.invoke(cli, ["mail", "test", "--config", ini()])
    assert result.exit_code == 1
    assert "550" in result.output

    result = runner.invoke(cli, ["mail", "test", "--config", ini(mail={"host": ""})])
    assert result.exit_code == 1
    assert "[mail] host" in result.output

    result = runner.invoke(cli, ["mail", "test", "--config", ini(mail={"admin": ""})])
    assert result.exit_code == 2
    assert "--to" in result.output

    result = runner.invoke(cli, ["mail", "test", "--config", ini(), "--to", "a@x, b@y"])
    assert result.exit_code == 1
    assert "single mail address" in result.output


# -- commentd outbox -----------------------------------------------------------------------


def queue_mail(path: str, to: str = ADMIN) -> int:
    from commentd.config import load_config

    config = load_config(path, environ={})
    open_site(config)
    with connection():
        return outbox.enqueue("email", to, mail.payload(config.mail, to, "Queued", "body")).id


def test_outbox_list_retry_and_run(runner, ini, mailbox):  # noqa: F811
    path = ini(outbox={"max_attempts": 1})
    message_id = queue_mail(path)
    mailbox.mode = "reject"
    result = runner.invoke(cli, ["outbox", "run", "--once", "--config", path])
    assert result.exit_code == 0, result.output
    assert "handled 1; now 0 pending, 0 sent, 1 failed" in result.output

    result = runner.invoke(cli, ["outbox", "list", "--status", "failed", "--config", path])
    assert result.exit_code == 0, result.output
    [row] = table_rows(result.stdout.splitlines())
    assert row[:5] == [str(message_id), "failed", "email", ADMIN, "1"]
    assert "550 not today" in row[6]
    assert "0 pending, 0 sent, 1 failed" in result.stderr
    result = runner.invoke(cli, ["outbox", "list", "--status", "pending", "--config", path])
    assert table_rows(result.stdout.splitlines()) == []

    result = runner.invoke(cli, ["outbox", "retry", str(message_id), "--config", path])
    assert result.exit_code == 0, result.output
    assert f"message {message_id} is pending again" in result.output
    mailbox.mode = "accept"
    result = runner.invoke(cli, ["outbox", "run", "--once", "--config", path])
    assert "now 0 pending, 1 sent, 0 failed" in result.output
    assert [r.message["Subject"] for r in mailbox.received] == ["Queued"]

    result = runner.invoke(cli, ["outbox", "list", "--config", path, "--json"])
    [sent] = json.loads(result.stdout)["messages"]
    assert (sent["id"], sent["status"], sent["kind"]) == (message_id, "sent", "email")
    result = runner.invoke(cli, ["outbox", "retry", str(message_id), "--config", path])
    assert result.exit_code == 1
    assert "only failed ones can be retried" in result.output
    result = runner.invoke(cli, ["outbox", "retry", "999", "--config", path])
    assert result.exit_code == 1
    assert "No outbox message 999" in result.output


def test_a_down_server_ends_failed_and_visible(runner, ini):
    path = ini(mail={"port": free_port()}, outbox={"max_attempts": 2, "retry_delay": "1s"})
    message_id = queue_mail(path)
    runner.invoke(cli, ["outbox", "run", "--once", "--config", path])
    result = runner.invoke(cli, ["outbox", "list", "--config", path])
    [row] = table_rows(result.stdout.splitlines())
    assert row[:5] == [str(message_id), "pending", "email", ADMIN, "1"]
    assert "ConnectionRefusedError" in row[6]
    time.sleep(1.1)
    runner.invoke(cli, ["outbox", "run", "--once", "--config", path])
    result = runner.invoke(cli, ["outbox", "list", "--status", "failed", "--config", path])
    [row] = table_rows(result.stdout.splitlines())
    assert row[:5] == [str(message_id), "failed", "email", ADMIN, "2"]


# -- a worker killed while sending ---------------------------------------------------------


def start_serve(path: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "commentd", "serve", "--config", path, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def post_comment(port: int, text: str) -> None:
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/comments?uri=/killed/",
            body=json.dumps({"text": text, "author": "Ada"}),
            headers={"Content-Type": "application/json"},
        )
        assert conn.getresponse().status == 201
    finally:
        conn.close()


def the_row(path: str) -> OutboxMessage:
    from commentd.config import load_config

    open_site(load_config(path, environ={}))
    with connection():
        return OutboxMessage.get()


@pytest.mark.slow
def test_a_mail_survives_the_worker_being_killed_mid_send(runner, ini, mailbox):  # noqa: F811
    # timeouts of 2 s give a lease of 4 * 2 + 5 = 13 s
    path = ini(mail={"timeout": "2s"}, webhooks={"timeout": "2s"}, webmention={"timeout": "2s"})
    port = free_port()
    mailbox.mode = "block"
    server = start_serve(path, port)
    try:
        wait_for(port, server)
        post_comment(port, "a comment whose mail is in flight")
        assert mailbox.entered.wait(20), "the worker never reached DATA"
        server.kill()  # SIGKILL while the SMTP server holds the DATA command
        server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=10)
    row = the_row(path)
    assert (row.status, row.attempts, row.sent) == ("pending", 1, None)
    assert row.lease_until > utcnow()  # the dead worker's lease
    mailbox.mode = "accept"
    mailbox.release.set()
    assert mailbox.received == []

    # while the lease lasts nobody else sends it (the first worker might still be alive)
    result = runner.invoke(cli, ["outbox", "run", "--once", "--config", path])
    assert "handled 0; now 1 pending" in result.output
    assert mailbox.received == []

    server = start_serve(path, port)
    try:
        wait_for(port, server)
        deadline = time.monotonic() + 40
        while not mailbox.received and time.monotonic() < deadline:
            time.sleep(0.1)
        (got,) = mailbox.received
        assert got.rcpt_tos == [ADMIN]
        assert got.message["Message-ID"] == outbox.payload_of(row)["message_id"]
        assert "a comment whose mail is in flight" in got.message.get_content()
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert "commentd stopped" in stderr
    row = the_row(path)
    assert (row.status, row.attempts) == ("sent", 2)
