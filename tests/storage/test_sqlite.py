"""SQLite as configured: WAL, foreign keys, immediate write transactions, durable commits.

These always run on a SQLite file, whichever database the rest of the suite uses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection, HTTPException

import pytest

from commentd.storage.database import connection, open_database, write_transaction
from commentd.storage.migrations import migrate
from commentd.storage.models import Comment, Thread
from tests.concurrency import in_threads
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

    def writer(n: int) -> None:
        with connection():
            for i in range(25):
                with write_transaction():
                    thread = Thread.get(Thread.uri == "/busy/")
                    Comment.create(thread=thread, text=f"{n}-{i}", html="")
                    Thread.update(version=Thread.version + 1).execute()

    assert in_threads(writer, 8) == []
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
    acknowledged: list[str] = []
    stop = threading.Event()

    def client(n: int) -> None:
        """Post until told to stop, from one of several connections at once, so writes
        arrive together and are committed in shared batches."""
        conn = HTTPConnection("127.0.0.1", port, timeout=10)
        i = 0
        try:
            while not stop.is_set():
                text = f"comment {n}-{i}"
                conn.request(
                    "POST",
                    "/api/comments?uri=/durable/",
                    body=json.dumps({"text": text}),
                    headers={"Content-Type": "application/json"},
                )
                res = conn.getresponse()
                res.read()
                if res.status == 201:
                    acknowledged.append(text)
                i += 1
        except (OSError, HTTPException):  # killed under us: that request was never answered
            pass
        finally:
            conn.close()

    clients = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    try:
        wait_for(port, server)
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)  # while requests are still arriving
        stop.set()
        for thread in clients:
            thread.join(10)
    finally:
        server.kill()
        server.wait(10)
    assert len(acknowledged) >= 150
    open_database(f"sqlite:///{db_path}")
    with connection():
        stored = {c.text for c in Comment.select()}
    assert set(acknowledged) <= stored  # everything answered 201 is on disk
