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
        "COMMENTD_SPAM_PROOF_OF_WORK": "off",  # six clients on one network make a burst
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


def sqlite_memory_used() -> int | None:
    """SQLite's own count of the heap it holds, process-wide (``sqlite3_memory_used``), or
    None when ctypes cannot reach the very library Python's sqlite3 runs on."""
    import ctypes
    import ctypes.util
    import sqlite3

    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.sqlite3_libversion.restype = ctypes.c_char_p
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    if lib.sqlite3_libversion().decode() != sqlite3.sqlite_version:
        return None
    return lib.sqlite3_memory_used()


@pytest.fixture
def soft_heap_limit():
    """Put SQLite's process-wide soft heap limit back as it was after the test."""
    import sqlite3

    with sqlite3.connect(":memory:") as probe:
        before = probe.execute("PRAGMA soft_heap_limit").fetchone()[0]
    yield
    with sqlite3.connect(":memory:") as probe:
        probe.execute(f"PRAGMA soft_heap_limit = {int(before)}")


def test_cache_memory_sets_the_soft_heap_limit_on_every_connection(tmp_path, soft_heap_limit):
    db = open_database(f"sqlite:///{tmp_path / 'c.db'}", cache_memory=3 * 2**20)
    held = threading.Barrier(3)
    limits = []

    def read(n: int) -> None:
        with connection():
            limits.append(db.execute_sql("PRAGMA soft_heap_limit").fetchone()[0])
            held.wait(10)  # three connections open at once, not one handed around

    assert in_threads(read, 3) == []
    db.close_all()
    assert limits == [3 * 2**20] * 3


def test_page_caches_of_many_connections_stay_under_cache_memory(tmp_path, soft_heap_limit):
    """Four connections each read a 9 MB table: without the limit each caches all of it (16 MB
    per connection allowed), about 36 MB together; with 1 MiB they stay near 1 MiB."""
    if sqlite_memory_used() is None:
        pytest.skip("sqlite3_memory_used is not reachable through ctypes here")
    db = open_database(f"sqlite:///{tmp_path / 'c.db'}", cache_memory=2**20)
    with connection(), db.atomic():  # one transaction: one fsync, not 40,000
        raw = db.connection()
        raw.execute("CREATE TABLE filler (x TEXT)")
        raw.executemany("INSERT INTO filler VALUES (?)", (("x" * 200,) for _ in range(40_000)))
    db.close_all()
    before = sqlite_memory_used()
    held = threading.Barrier(4)

    def scan(n: int) -> None:
        with connection():
            held.wait(10)  # four connections open at once, not one handed around
            assert db.execute_sql("SELECT sum(length(x)) FROM filler").fetchone()[0] == 8_000_000
            held.wait(10)

    assert in_threads(scan, 4) == []
    grown = sqlite_memory_used() - before  # the four connections are open in the pool
    db.close_all()
    assert grown < 4 * 2**20


def test_the_app_opens_sqlite_with_the_configured_cache_memory(tmp_path, make_app, soft_heap_limit):
    from commentd.config import load_config
    from commentd.storage.database import database_proxy

    overrides = {
        "database.url": f"sqlite:///{tmp_path / 'c.db'}",
        "database.cache_memory": "2MiB",
        "security.secret": "s" * 40,
    }
    make_app(load_config(None, environ={}, overrides=overrides))
    with connection():
        assert database_proxy.execute_sql("PRAGMA soft_heap_limit").fetchone()[0] == 2 * 2**20
