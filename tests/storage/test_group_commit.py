"""Group commit on SQLite: writes from several threads share one transaction and one fsync,
and each still succeeds or fails on its own; a batch waits, briefly, for writes announced as
coming. Always on a SQLite file (PostgreSQL commits each write in its own transaction)."""

from __future__ import annotations

import threading
import time

import pytest
from peewee import IntegrityError

from commentd.storage.database import (
    GroupCommit,
    batched_write,
    connection,
    expected_write,
    open_database,
)
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


# -- announced writes: a batch about to commit waits for them ----------------------------


def writer_in_thread(work) -> threading.Thread:
    """``batched_write(work)`` on a thread of its own, started."""

    def call() -> None:
        with connection():
            batched_write(work)

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def announced_writer(write_now: threading.Event, write: bool = True):
    """A thread that announces a write, waits for ``write_now``, then writes "announced"
    (or, with ``write=False``, leaves without writing). Returns it once announced."""
    announced = threading.Event()

    def call() -> None:
        with connection(), expected_write():
            announced.set()
            assert write_now.wait(10)
            if write:
                batched_write(lambda: add("announced"))

    thread = threading.Thread(target=call)
    thread.start()
    assert announced.wait(10)
    return thread


def test_a_batch_waits_for_an_announced_write_and_commits_it_too(db, monkeypatch):
    monkeypatch.setattr(GroupCommit, "MAX_WAIT", 60.0)  # only the announced write ends the wait
    before = db.group_commit.batches
    write_now = threading.Event()
    announced = announced_writer(write_now)
    leader = writer_in_thread(lambda: add("leader"))
    leader.join(0.2)
    assert leader.is_alive()  # waiting, nothing committed yet
    assert texts() == set()
    write_now.set()
    leader.join(10)
    announced.join(10)
    assert texts() == {"leader", "announced"}
    assert db.group_commit.batches == before + 1


def test_an_announcement_left_without_a_write_ends_the_wait(db, monkeypatch):
    monkeypatch.setattr(GroupCommit, "MAX_WAIT", 60.0)
    write_now = threading.Event()
    announced = announced_writer(write_now, write=False)
    leader = writer_in_thread(lambda: add("leader"))
    leader.join(0.2)
    assert leader.is_alive()
    write_now.set()  # the announcing thread leaves its block without writing
    leader.join(10)
    announced.join(10)
    assert not leader.is_alive()
    assert texts() == {"leader"}


def test_the_wait_for_an_announced_write_is_bounded(db, monkeypatch):
    monkeypatch.setattr(GroupCommit, "MAX_WAIT", 0.05)
    write_now = threading.Event()
    announced = announced_writer(write_now)
    leader = writer_in_thread(lambda: add("leader"))
    leader.join(10)
    assert not leader.is_alive()  # committed without the other
    assert texts() == {"leader"}
    write_now.set()
    announced.join(10)
    assert texts() == {"leader", "announced"}


def test_a_write_nobody_announced_waits_for_nobody(db, monkeypatch):
    monkeypatch.setattr(GroupCommit, "MAX_WAIT", 60.0)
    leader = writer_in_thread(lambda: add("alone"))
    leader.join(10)
    assert not leader.is_alive()
    assert texts() == {"alone"}


def test_an_announced_write_runs_on_either_database(database_url):
    """On PostgreSQL (with COMMENTD_TEST_POSTGRES) announcing is a no-op."""
    db = open_database(database_url)
    try:
        with connection(), expected_write():
            assert batched_write(lambda: 42) == 42
    finally:
        getattr(db, "close_all", db.close)()


def test_after_a_batch_of_three_the_next_one_waits_for_three_writes(db, monkeypatch):
    queued_while_locked(db, [lambda n=n: add(f"burst{n}") for n in range(3)])
    monkeypatch.setattr(GroupCommit, "MAX_WAIT", 60.0)  # only the writes end the wait
    before = db.group_commit.batches
    first = writer_in_thread(lambda: add("first"))
    first.join(0.2)
    assert first.is_alive()  # a burst of three may go on: it waits for two more
    assert "first" not in texts()
    others = [writer_in_thread(lambda n=n: add(f"next{n}")) for n in range(2)]
    for thread in [first, *others]:
        thread.join(10)
    assert {"first", "next0", "next1"} <= texts()
    assert db.group_commit.batches == before + 1


def test_a_lone_write_after_a_burst_waits_no_longer_than_the_bound(db, monkeypatch):
    queued_while_locked(db, [lambda n=n: add(f"burst{n}") for n in range(3)])
    monkeypatch.setattr(GroupCommit, "MAX_WAIT", 0.05)
    alone = writer_in_thread(lambda: add("alone"))
    alone.join(10)
    assert not alone.is_alive()
    assert "alone" in texts()
    monkeypatch.setattr(GroupCommit, "MAX_WAIT", 60.0)  # the burst is over: no wait now
    again = writer_in_thread(lambda: add("again"))
    again.join(10)
    assert not again.is_alive()
    assert "again" in texts()
