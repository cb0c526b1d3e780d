"""Opening the database named by a URL, SQLite or PostgreSQL, behind one proxy.

Every model is bound to ``database_proxy``; ``open_database(url)`` builds the real
database and points the proxy at it. SQLite gets a pool of open connections, WAL, foreign
keys, a busy timeout, full fsync on commit (an acknowledged comment survives kill -9 and
power loss), and ``BEGIN IMMEDIATE`` for write transactions, so concurrent writers queue on
the busy timeout instead of failing with "database is locked" when a read lock is upgraded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from peewee import Database, DatabaseError, DatabaseProxy, SqliteDatabase
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledSqliteDatabase

database_proxy = DatabaseProxy()

#: What a database that cannot answer (locked too long, gone away, unreadable) raises.
DatabaseUnavailable = DatabaseError

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "full",
    "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    "cache_size": -16_000,  # KiB, per connection
}


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (``:memory:`` for an in-memory database)."""
    if url in ("sqlite://:memory:", "sqlite:///:memory:"):
        return ":memory:"
    path = url[len("sqlite:///") :]
    return str(Path(path))


class LocalSqliteDatabase(PooledSqliteDatabase):
    """SQLite with pooled connections and an in-process lock that queues this process's writers.

    Connections are kept open and handed from request to request: opening one costs a file
    open and the pragmas, and closing the last one makes SQLite checkpoint the whole WAL, on
    every request. SQLite's busy handler polls with growing sleeps, so writers contending for
    the lock see long tail latencies; queueing them on a lock first leaves SQLite's busy
    timeout only for writers in other processes.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, max_connections=None, stale_timeout=None, **kwargs)
        self.write_lock = threading.RLock()


def open_database(url: str) -> Database:
    """Build the database for ``url`` and bind the models' proxy to it."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        db: Database = LocalSqliteDatabase(
            sqlite_path(url),
            pragmas=SQLITE_PRAGMAS,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            lock_type="IMMEDIATE",
            check_same_thread=False,
        )
    else:
        db = connect_url(url.replace("postgres://", "postgresql://", 1))
    database_proxy.initialize(db)
    return db


def is_sqlite(db: Database) -> bool:
    """Whether ``db`` is SQLite (some statements differ)."""
    return isinstance(db, SqliteDatabase)


@contextmanager
def write_transaction() -> Iterator[None]:
    """A write transaction: ``BEGIN IMMEDIATE`` on SQLite, a plain one elsewhere.

    Committed when the block exits, before the caller builds its response.
    """
    lock = getattr(database_proxy.obj, "write_lock", None)
    if lock is None:
        with database_proxy.atomic():
            yield
        return
    with lock, database_proxy.atomic():
        yield


@contextmanager
def connection() -> Iterator[Database]:
    """Hold a connection for the duration of a request or command."""
    opened = database_proxy.connect(reuse_if_open=True)
    try:
        yield database_proxy.obj
    finally:
        if opened and not database_proxy.is_closed():
            database_proxy.close()
