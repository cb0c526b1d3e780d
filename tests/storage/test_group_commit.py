"""Group commit on SQLite: writes from several threads share one transaction and one fsync,
and each still succeeds or fails on its own. Always on a SQLite file (PostgreSQL commits each
write in its own transaction)."""

from __future__ import annotations

import threading
import time

import pytest
from peewee import IntegrityError

from commentd.storage.database import batched_write, connection, open_database
from commentd.storage.migrations import migrate
from commentd.storage.models import Comment, Thread
from tests.concurrency import in_threads


@pytest.fixture
def db(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    with connection():
        migrate(db)
        Thread.create(uri="/t/")
    yield db
    db.close_all()


def add(text: str) -> int:
    return Comment.create(thread=Thread.get(Thread.uri == "/t/"), text=text, html="").id


def queued_while_locked(db, works) -> list:
    """Start one thread per work while the write lock is held, so all of them queue, then
    let go: the first to get the lock commits them all. Returns each thread's outcome."""
    outcomes: list = [None] * len(works)

    def call(n: int) -> None:
        with connection():
            try:
                outcomes[n] = ("ok", batched_write(works[n]))
            except Exception as error:  # the outcome the caller saw, asserted by the test
                outcomes[n] = ("error", error)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(works))]
    with db.write_lock:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(db.group_commit._queue) < len(works) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(db.group_commit._queue) == len(works)
    for thread in threads:
        thread.join(10)
    return outcomes


def texts() -> set[str]:
    with connection():
        return {c.text for c in Comment.select()}


def test_writes_waiting_together_are_committed_in_one_batch(db):
    before = db.group_commit.batches
    outcomes = queued_while_locked(db, [lambda n=n: add(f"c{n}") for n in range(8)])
    assert [kind for kind, _ in outcomes] == ["ok"] * 8
    assert len({comment_id for _, comment_id in outcomes}) == 8  # each got its own row's id
    assert db.group_commit.batches == before + 1
    assert texts() == {f"c{n}" for n in range(8)}


def test_a_failing_write_is_undone_alone_and_its_caller_gets_the_error(db):
    def fails() -> None:
        add("half-written")
        raise ValueError("refused")

    outcomes = queued_while_locked(db, [lambda: add("a"), fails, lambda: add("b")])
    assert outcomes[0][0] == outcomes[2][0] == "ok"
    assert outcomes[1][0] == "error"
    assert str(outcomes[1][1]) == "refused"
    assert texts() == {"a", "b"}


def test_a_failed_commit_fails_every_write_of_the_batch_and_stores_none(db):
    def breaks_the_commit() -> None:
        # checked only at COMMIT: a comment of a thread that does not exist
        Comment._meta.database.execute_sql("PRAGMA defer_foreign_keys = ON")
        Comment.insert(thread=99_999, text="orphan", html="").execute()

    outcomes = queued_while_locked(db, [lambda: add("a"), breaks_the_commit, lambda: add("b")])
    assert [kind for kind, _ in outcomes] == ["error"] * 3
    assert all(isinstance(error, IntegrityError) for _, error in outcomes)
    assert texts() == set()
    assert batched_write(lambda: None) is None  # the database is usable again
    with connection():
        assert add("after") > 0
    assert texts() == {"after"}


def test_a_write_inside_an_open_transaction_runs_there(db):
    with connection(), db.atomic():
        assert batched_write(lambda: add("inline")) > 0
        assert not db.group_commit._queue
    assert texts() == {"inline"}


def test_many_threads_writing_at_once_all_land(db):
    def writer(n: int) -> None:
        with connection():
            for i in range(25):
                batched_write(lambda i=i: add(f"{n}-{i}"))

    assert in_threads(writer, 8) == []
    assert texts() == {f"{n}-{i}" for n in range(8) for i in range(25)}
