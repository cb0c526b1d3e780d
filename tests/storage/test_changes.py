"""The change signal beside a SQLite file, and reads kept until it changes (``Recall``)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from peewee import IntegrityError

from commentd.services.cache import Recall
from commentd.storage.database import (
    ChangeSignal,
    change_token,
    connection,
    is_sqlite,
    open_database,
    write_transaction,
)
from commentd.storage.migrations import migrate
from commentd.storage.models import Thread

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_file(tmp_path) -> Path:
    path = tmp_path / "c.db"
    db = open_database(f"sqlite:///{path}")
    with connection():
        migrate(db)
    return path


def counted(read):
    """``read`` with a count of how often it ran."""
    calls = []

    def run():
        calls.append(1)
        return read()

    return run, calls


def thread_count() -> int:
    return Thread.select().count()


def test_commits_and_autocommit_writes_change_the_token_and_reads_do_not(sqlite_file):
    with connection() as db:
        before = change_token()
        assert before is not None
        assert len(before) == ChangeSignal.SIZE
        assert db.execute_sql("SELECT count(*) FROM thread").fetchone() == (0,)
        assert thread_count() == 0
        assert change_token() == before
        with write_transaction():
            Thread.create(uri="/a/")
        committed = change_token()
        assert committed != before
        with pytest.raises(IntegrityError), write_transaction():
            Thread.create(uri="/a/")  # taken: rolled back
        assert change_token() == committed
        db.execute_sql("UPDATE thread SET title = 'T' WHERE uri = '/a/'")  # autocommit
        assert change_token() != committed


def test_a_commit_in_another_process_changes_the_token(sqlite_file):
    with connection():
        before = change_token()
    script = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from commentd.storage.database import connection, open_database, write_transaction\n"
        "from commentd.storage.models import Thread\n"
        "open_database('sqlite:///' + sys.argv[1])\n"
        "with connection(), write_transaction():\n"
        "    Thread.create(uri='/elsewhere/')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(sqlite_file), str(ROOT)], check=True)
    with connection():
        assert change_token() != before
        assert Thread.select().where(Thread.uri == "/elsewhere/").exists()


def test_recall_keeps_a_read_until_anything_is_committed(sqlite_file):
    recall: Recall[int] = Recall(10, 100, max_age=60)
    read, calls = counted(thread_count)
    with connection():
        assert [recall.get("threads", read) for _ in range(3)] == [0, 0, 0]
        assert len(calls) == 1
        with write_transaction():
            Thread.create(uri="/a/")
        assert recall.get("threads", read) == 1
        assert len(calls) == 2


def test_recall_sees_a_write_made_outside_commentd_within_max_age(sqlite_file):
    """The sqlite3 shell does not announce its writes: they show once ``max_age`` passed."""
    recall: Recall[int] = Recall(10, 100, max_age=0.2)
    with connection():
        assert recall.get("threads", thread_count) == 0
        outside = sqlite3.connect(sqlite_file)
        with outside:
            outside.execute(
                "INSERT INTO thread (uri, version, locked, created) "
                "VALUES ('/shell/', 1, 0, '2026-11-29 00:00:00')"
            )
        outside.close()
        assert recall.get("threads", thread_count) == 0  # kept: nothing was announced
        time.sleep(0.25)
        assert recall.get("threads", thread_count) == 1


def test_recall_is_bounded(sqlite_file):
    recall: Recall[str] = Recall(3, 5, max_age=60)
    with connection():
        for key in ("a", "b", "c", "d"):
            recall.get(key, lambda key=key: key)
        assert len(recall) <= 3
        read, calls = counted(lambda: "long")
        recall.get("a long key", read)
        recall.get("a long key", read)
        assert len(calls) == 2  # keys over the size limit are not kept


def test_no_signal_file_means_nothing_is_kept(tmp_path):
    (tmp_path / "c.db-changes").mkdir()  # cannot be opened as a file
    db = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    recall: Recall[int] = Recall(10, 100, max_age=60)
    read, calls = counted(thread_count)
    with connection():
        migrate(db)
        assert change_token() is None
        assert recall.get("threads", read) == recall.get("threads", read) == 0
    assert len(calls) == 2


def test_an_in_memory_database_has_a_signal_of_its_own():
    open_database("sqlite:///:memory:")
    with connection() as db:
        migrate(db)
        before = change_token()
        with write_transaction():
            Thread.create(uri="/a/")
        assert change_token() not in (None, before)


def test_reads_are_kept_only_where_the_database_signals_changes(database_url):
    """PostgreSQL has no signal (processes may run on several hosts): every read queries."""
    db = open_database(database_url)
    recall: Recall[int] = Recall(10, 100, max_age=60)
    read, calls = counted(thread_count)
    with connection():
        migrate(db)
        assert recall.get("threads", read) == recall.get("threads", read) == 0
    assert len(calls) == (1 if is_sqlite(db) else 2)
