"""Opening the database named by a URL, SQLite or PostgreSQL, behind one proxy.

Every model is bound to ``database_proxy``; ``open_database(url)`` builds the real
database and points the proxy at it. SQLite gets a pool of open connections, WAL, foreign
keys, a busy timeout, full fsync on commit (an acknowledged comment survives kill -9 and
power loss), and ``BEGIN IMMEDIATE`` for write transactions, so concurrent writers queue on
the busy timeout instead of failing with "database is locked" when a read lock is upgraded.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from peewee import Database, DatabaseError, DatabaseProxy, InterfaceError, SqliteDatabase
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledSqliteDatabase

database_proxy = DatabaseProxy()
T = TypeVar("T")

#: What a database that cannot answer (locked too long, gone away, unreadable) raises.
DatabaseUnavailable = DatabaseError
#: What a failed connection raises: after one, the connection is closed, not reused.
CONNECTION_ERRORS = (DatabaseError, InterfaceError)

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "full",
    "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    "cache_size": -16_000,  # KiB, per connection
}
BULK_CACHE_KIB = 128_000  # the page cache of a connection doing bulk work (an import)


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (``:memory:`` for an in-memory database)."""
    if url in ("sqlite://:memory:", "sqlite:///:memory:"):
        return ":memory:"
    path = url[len("sqlite:///") :]
    return str(Path(path))


class ChangeSignal:
    """Eight bytes beside a SQLite file that every commentd process rewrites after each commit
    to it, shared through ``mmap``: while they read the same, nobody committed through commentd.

    Reading them is a memory read, where a query releases the GIL and under load costs thread
    switches (see docs/performance.md), so hot reads can keep what they read until they
    change. The file is ``<database>-changes`` (random bytes, nothing secret); if it cannot be
    opened there is no signal and readers query every time. An in-memory database, private
    to its process, gets a signal in memory.
    """

    SIZE = 8
    SUFFIX = "-changes"

    def __init__(self, path: str) -> None:
        self._shared: mmap.mmap | bytearray | None
        if path == ":memory:":
            self._shared = bytearray(self.SIZE)
        else:
            self._shared = _shared_bytes(path + self.SUFFIX, self.SIZE)
        self.announce()  # a file new to this process never matches what it read from another

    def token(self) -> bytes | None:
        """The current bytes, or None when there is no signal."""
        shared = self._shared
        return None if shared is None else bytes(shared[: self.SIZE])

    def announce(self) -> None:
        """Tell every process that something was committed (call it after the commit)."""
        if self._shared is not None:
            self._shared[: self.SIZE] = os.urandom(self.SIZE)


def _shared_bytes(path: str, size: int) -> mmap.mmap | None:
    """``size`` bytes of the file at ``path`` (made if missing) mapped shared, or None."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
        return mmap.mmap(fd, size)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def change_token() -> bytes | None:
    """What the open database's ``ChangeSignal`` reads now; None when it has none (PostgreSQL,
    or a SQLite file whose signal could not be opened): then nothing read may be kept."""
    signal = getattr(database_proxy.obj, "changes", None)
    return None if signal is None else signal.token()


class LocalSqliteDatabase(PooledSqliteDatabase):
    """SQLite with pooled connections and an in-process lock that queues this process's writers.

    Connections are kept open and handed from request to request: opening one costs a file
    open and the pragmas, and closing the last one makes SQLite checkpoint the whole WAL, on
    every request. SQLite's busy handler polls with growing sleeps, so writers contending for
    the lock see long tail latencies; queueing them on a lock first leaves SQLite's busy
    timeout only for writers in other processes.

    Every commit, and every write outside a transaction, is announced on ``changes``.
    """

    def __init__(self, database: str, *args, read_only: str | None = None, **kwargs) -> None:
        """``read_only``: ``"ro"`` opens the file read-only, ``"immutable"`` also tells SQLite
        that nobody changes it (the only way into a WAL file on a read-only mount that has
        no ``-shm`` beside it); writes then fail with "attempt to write a readonly database".
        """
        self.path = database
        self.read_only = read_only
        if read_only is not None:
            flag = "mode=ro" if read_only == "ro" else "immutable=1"
            database = f"{Path(database).resolve().as_uri()}?{flag}"
            kwargs["uri"] = True
        super().__init__(database, *args, max_connections=None, stale_timeout=None, **kwargs)
        self.write_lock = threading.RLock()
        self.group_commit = GroupCommit(self)
        self.changes = ChangeSignal(self.path)

    def commit(self) -> None:
        super().commit()
        self.changes.announce()

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        cursor = super().execute_sql(sql, params)
        if not sql.startswith("SELECT") and not self.in_transaction():
            self.changes.announce()  # autocommit: a write is committed once it ran
        return cursor


class _Write:
    """One caller's write, waiting for the batch that runs it."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    """Writes from several threads committed together: one transaction, one fsync, per batch.

    A SQLite commit waits for the disk (a full fsync), and only one writer may hold the
    database at a time, so under concurrent writes the fsyncs, not the work, set the pace.
    Each caller queues its write; one that finds no batch under way leads the next: it takes
    the process's write lock and runs every queued write, each in a savepoint of one
    ``BEGIN IMMEDIATE`` transaction, and commits once. A write that fails is rolled back
    alone and its error raised to its own caller; if the commit fails, every write of the
    batch gets that error. Each caller returns only after the commit that holds its write,
    so an answered write is as durable as before.

    On a small machine an fsync costs CPU as well as time (about 240 us on the 2-core
    development VM, as much as rendering and storing a comment), and the other writers cannot
    get their own work done while it runs: batches stayed at about two writes. So whoever is
    about to run a batch first waits, at most ``MAX_WAIT`` seconds, until every write announced
    as coming (``expect``) is queued and the queue holds as many writes as the last batch did
    (a burst of writers goes on as it was). The wait gives the CPU to the writers it waits for,
    and their writes share one fsync. A lone writer after a lone writer never waits; one after
    a burst waits once, at most ``MAX_WAIT``. Writers wait for their batch on a condition, not
    on the write lock, so they are back at work as soon as it commits.
    """

    MAX_WAIT = 0.005

    def __init__(self, db: LocalSqliteDatabase) -> None:
        self.db = db
        self._queue: list[_Write] = []
        self._queue_lock = threading.Lock()
        self._arrived = threading.Condition(self._queue_lock)  # a write is queued
        self._finished = threading.Condition(self._queue_lock)  # a batch is committed
        self._expected: set[int] = set()  # threads that announced a write not yet queued
        self._running = False  # a batch is under way or about to be
        self._last_batch = 1  # writes in the last batch: how many the next one waits for
        self.batches = 0  # committed batches, for tests and benchmarks

    @contextmanager
    def expect(self) -> Iterator[None]:
        """Announce that this thread is about to ``run`` a write (the first ``run`` in the block
        ends the announcement): the batch before it waits for it."""
        ident = threading.get_ident()
        with self._queue_lock:
            self._expected.add(ident)
        try:
            yield
        finally:
            with self._queue_lock:
                if ident in self._expected:  # it wrote nothing, or not through ``run``
                    self._expected.discard(ident)
                    self._arrived.notify()

    def run(self, work: Callable[[], T]) -> T:
        """Run ``work()`` in a write transaction, maybe with others; return what it returns."""
        write = _Write(work)
        ident = threading.get_ident()
        with self._queue_lock:
            self._queue.append(write)
            self._expected.discard(ident)
            self._arrived.notify()  # to the batch's leader, if one is waiting for writes
            while self._running and not write.done:  # the batch under way may not hold it
                self._finished.wait()
            leading = not write.done  # nobody ran it yet: run everything queued with it
            if leading:
                self._running = True
                wanted = self._last_batch
                self._arrived.wait_for(
                    lambda: not self._expected and len(self._queue) >= wanted, self.MAX_WAIT
                )
        if leading:
            try:
                with self.db.write_lock:
                    with self._queue_lock:
                        batch, self._queue = self._queue, []
                        self._last_batch = len(batch)
                    self._run_batch(batch)
            finally:
                with self._queue_lock:
                    self._running = False
                    self._finished.notify_all()  # to the batch's writers and the next leader
        if write.error is not None:
            raise write.error
        return write.result

    def _run_batch(self, batch: list[_Write]) -> None:
        try:
            with self.db.atomic():
                if len(batch) == 1:  # alone: its failure undoes the transaction, no savepoint
                    batch[0].result = batch[0].work()
                else:
                    for write in batch:
                        try:
                            with self.db.atomic():  # a savepoint: a failure undoes this one only
                                write.result = write.work()
                        except Exception as error:
                            write.error = error
            self.batches += 1
        except BaseException as error:  # BEGIN, COMMIT or a lone write failed: nothing is stored
            for write in batch:
                if write.error is None:
                    write.error = error
            if not isinstance(error, Exception):
                raise
        finally:
            for write in batch:
                write.done = True


#: Ways to open a SQLite file that cannot be written: see ``LocalSqliteDatabase``.
READ_ONLY_MODES = ("ro", "immutable")
#: What SQLite says when a file cannot be written or opened (its message, as Python 3.10
#: gives no error code): worth trying again read-only.
_READ_ONLY = "readonly database"
_NOT_WRITABLE = (_READ_ONLY, "unable to open database file")


def open_database(
    url: str, cache_memory: int | None = None, read_only: str | None = None
) -> Database:
    """Build the database for ``url`` and bind the models' proxy to it.

    On SQLite, ``cache_memory`` bytes (0: no limit) bound the page caches of all the
    process's connections together: SQLite's soft heap limit, which is process-wide.
    ``read_only`` (SQLite only) is one of ``READ_ONLY_MODES``.
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        pragmas = dict(SQLITE_PRAGMAS)
        if cache_memory is not None:
            pragmas["soft_heap_limit"] = cache_memory
        if read_only is not None:  # changing the journal mode would be a write
            del pragmas["journal_mode"]
        db: Database = LocalSqliteDatabase(
            sqlite_path(url),
            pragmas=pragmas,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            lock_type="IMMEDIATE",
            check_same_thread=False,
            read_only=read_only,
        )
    else:
        db = connect_url(url.replace("postgres://", "postgresql://", 1))
    database_proxy.initialize(db)
    return db


def not_writable(db: Database, error: Exception) -> bool:
    """Whether ``error`` says that the SQLite file ``db`` opens cannot be written (a read-only
    file, folder or mount), so that it might still open read-only."""
    path = getattr(db, "path", ":memory:")
    return (
        path != ":memory:"
        and os.path.isfile(path)
        and any(text in str(error) for text in _NOT_WRITABLE)
    )


def is_read_only_error(error: Exception) -> bool:
    """Whether ``error`` is SQLite refusing a write to a database it opened read-only."""
    return _READ_ONLY in str(error)


def is_read_only(db: Database) -> bool:
    """Whether ``db`` was opened read-only."""
    return getattr(db, "read_only", None) is not None


def close_database(db: Database) -> None:
    """Close this thread's connection to ``db`` and every pooled one."""
    if not db.is_closed():
        db.close()
    close_all = getattr(db, "close_all", None)
    if close_all is not None:
        close_all()


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
def relaxed_durability() -> Iterator[None]:
    """Commits in this block return without waiting for the disk (SQLite: ``synchronous =
    NORMAL`` in WAL mode, and a larger page cache; PostgreSQL: ``synchronous_commit = off``).
    A power cut may undo the last commits, never corrupt the database: for bulk work that can
    simply run again (an idempotent import). Hold a ``connection()`` around it, outside any
    transaction."""
    db = database_proxy.obj
    if is_sqlite(db):
        relaxed = ["PRAGMA synchronous = NORMAL", f"PRAGMA cache_size = {-BULK_CACHE_KIB}"]
        strict = [
            f"PRAGMA synchronous = {SQLITE_PRAGMAS['synchronous']}",
            f"PRAGMA cache_size = {SQLITE_PRAGMAS['cache_size']}",
        ]
    else:
        relaxed, strict = ["SET synchronous_commit = off"], ["RESET synchronous_commit"]
    for statement in relaxed:
        db.execute_sql(statement)
    try:
        yield
    finally:
        if not db.is_closed():
            for statement in strict:
                db.execute_sql(statement)


def batched_write(work: Callable[[], T]) -> T:
    """Run ``work()`` in a write transaction and return its result: on SQLite committed
    together with other threads' writes waiting at the same moment (see ``GroupCommit``),
    elsewhere (and inside a transaction already open) as ``write_transaction`` does.

    ``work`` may run on another thread, with that thread's connection: it must touch the
    database only through the models, and nothing thread-local.
    """
    group = _group_commit()
    if group is None or database_proxy.in_transaction():
        with write_transaction():
            return work()
    return group.run(work)


def _group_commit() -> GroupCommit | None:
    """The open database's group commit (SQLite only)."""
    return getattr(database_proxy.obj, "group_commit", None)


@contextmanager
def expected_write() -> Iterator[None]:
    """Announce that this thread is about to make a ``batched_write``, so that a batch about to
    commit waits for it (see ``GroupCommit``); nothing outside SQLite."""
    group = _group_commit()
    if group is None:
        yield
        return
    with group.expect():
        yield


def drop_connection() -> None:
    """Close this thread's connection after a database error: it may be dead, and it is not
    to be reused."""
    if not database_proxy.is_closed() and not database_proxy.in_transaction():
        database_proxy.close()


@contextmanager
def connection() -> Iterator[Database]:
    """Hold a connection for the duration of a request or command."""
    opened = database_proxy.connect(reuse_if_open=True)
    try:
        yield database_proxy.obj
    except CONNECTION_ERRORS:
        drop_connection()
        raise
    finally:
        if opened and not database_proxy.is_closed():
            database_proxy.close()


@contextmanager
def kept_connection() -> Iterator[Database]:
    """This thread's connection, left open for the thread's next request.

    For the hot reads: taking a pooled connection and giving it back costs more than a cached
    read itself. Server threads are few and long-lived, so each keeps one (later requests on the
    thread reuse it, through ``connection`` too). A database error closes it, so a connection
    the database dropped is replaced on the next request.
    """
    database_proxy.connect(reuse_if_open=True)
    try:
        yield database_proxy.obj
    except CONNECTION_ERRORS:
        drop_connection()
        raise
