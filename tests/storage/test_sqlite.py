"""SQLite as configured: WAL, foreign keys, immediate write transactions, durable commits.

These always run on a SQLite file, whichever database the rest of the suite uses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.client import HTTPConnection

import pytest

from commentd.storage.database import connection, open_database, write_transaction
from commentd.storage.migrations import migrate
from commentd.storage.models import Comment, Thread
from tests.net import free_port, wait_for


@pytest.fixture
def sqlite_db(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    with connection():
        migrate(db)
    return db


def test_pragmas(sqlite_db):
    with connection():
        assert sqlite_db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert sqlite_db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert sqlite_db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert sqlite_db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_foreign_keys_are_enforced(sqlite_db):
    from peewee import IntegrityError

    with connection(), pytest.raises(IntegrityError):
        Comment.create(thread=9999, text="orphan", html="")


def test_write_transactions_begin_immediate(sqlite_db):
    statements = []
    with connection():
        raw = sqlite_db.connection()
        raw.set_trace_callback(statements.append)
        with write_transaction():
            Thread.create(uri="/t/")
        raw.set_trace_callback(None)
    assert statements[0] == "BEGIN IMMEDIATE"


def test_concurrent_writers_do_not_fail_with_database_locked(sqlite_db):
    """Eight threads, each reading then writing in a transaction: with plain BEGIN, upgrading
    the read lock fails at once with "database is locked"; with BEGIN IMMEDIATE they queue."""
    with connection():
        Thread.create(uri="/busy/")
    errors = []

    def writer(n: int) -> None:
        try:
            with connection():
                for i in range(25):
                    with write_transaction():
                        thread = Thread.get(Thread.uri == "/busy/")
                        Comment.create(thread=thread, text=f"{n}-{i}", html="")
                        Thread.update(version=Thread.version + 1).execute()
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with connection():
        assert Comment.select().count() == 200
        assert Thread.get(Thread.uri == "/busy/").version == 200


@pytest.mark.slow
def test_acknowledged_comments_survive_kill_9(tmp_path):
    """Every comment the server said 201 to is in the file after SIGKILL."""
    port = free_port()
    db_path = tmp_path / "durable.db"
    env = {
        **os.environ,
        "COMMENTD_DATABASE_URL": f"sqlite:///{db_path}",
        "COMMENTD_SERVER_PORT": str(port),
        "COMMENTD_RATELIMIT_COMMENTS_PER_MINUTE": "0",
        "COMMENTD_RATELIMIT_COMMENTS_PER_HOUR": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "commentd", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    acknowledged = []
    try:
        wait_for(port, server)
        conn = HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(30):
            conn.request(
                "POST",
                "/api/comments?uri=/durable/",
                body=json.dumps({"text": f"comment {i}"}),
                headers={"Content-Type": "application/json"},
            )
            res = conn.getresponse()
            res.read()
            assert res.status == 201
            acknowledged.append(f"comment {i}")
        os.kill(server.pid, signal.SIGKILL)
        conn.close()
    finally:
        server.kill()
        server.wait(10)
    open_database(f"sqlite:///{db_path}")
    with connection():
        stored = [c.text for c in Comment.select().order_by(Comment.id)]
    assert stored == acknowledged
