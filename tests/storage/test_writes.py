"""The compiled write statements give what peewee's own queries give, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from commentd.storage import writes
from commentd.storage.database import connection, open_database
from commentd.storage.migrations import migrate
from commentd.storage.models import Comment, RateHit, Status, Thread, text_hash


@pytest.fixture
def db(database_url):
    db = open_database(database_url)
    with connection():
        migrate(db)
    yield db
    close_all = getattr(db, "close_all", None)
    if close_all is not None:
        close_all()


@pytest.fixture
def thread(db):
    with connection():
        return Thread.create(uri="/post/", title="A post")


def new_comment(thread: Thread, **fields) -> Comment:
    fields.setdefault("text", "Hello")
    fields.setdefault("text_hash", text_hash(fields["text"]))
    fields.setdefault("html", "<p>Hello</p>")
    return Comment(thread=thread.id, **fields)


def test_thread_for_uri_matches_peewee(thread):
    with connection():
        found = writes.thread_for_uri("/post/")
        assert found.__data__ == Thread.get(Thread.uri == "/post/").__data__
        assert found.title == "A post"
        assert not found.is_dirty()
        assert writes.thread_for_uri("/other/") is None


def test_insert_comment_gives_an_id_and_stores_every_field(thread):
    with connection():
        first = writes.insert_comment(new_comment(thread, author="Ann", voter="v1"))
        second = writes.insert_comment(new_comment(thread, text="Again", email="a@example.com"))
        assert second.id == first.id + 1
        stored = Comment.get_by_id(first.id)
        assert stored.author == "Ann"
        assert stored.status is Status.APPROVED
        assert stored.created == first.created
        assert writes.comment_by_id(first.id).__data__ == stored.__data__
        assert writes.comment_by_id(second.id + 100) is None


def test_has_comment_finds_the_same_text_from_the_same_person(thread):
    shown = [Status.APPROVED, Status.PENDING]
    with connection():
        writes.insert_comment(new_comment(thread, voter="v1", email="a@example.com"))
        assert writes.has_comment(thread.id, "Hello", shown, "v1", None)
        assert writes.has_comment(thread.id, "Hello", shown, "v2", "a@example.com")
        assert not writes.has_comment(thread.id, "Hello", shown, "v2", None)
        assert not writes.has_comment(thread.id, "Other", shown, "v1", None)
        assert not writes.has_comment(thread.id, "Hello", [Status.PENDING], "v1", None)


def test_has_comment_compares_the_text_not_only_its_hash(thread):
    shown = [Status.APPROVED]
    with connection():
        # a stored hash that collides with another text's: the text itself still decides
        writes.insert_comment(new_comment(thread, voter="v1", text_hash=text_hash("Other")))
        assert not writes.has_comment(thread.id, "Other", shown, "v1", None)
        # a comment whose hash was never filled in is not found (the migration fills them all)
        writes.insert_comment(new_comment(thread, voter="v1", text="Unhashed", text_hash=None))
        assert not writes.has_comment(thread.id, "Unhashed", shown, "v1", None)


def test_bump_version_counts_each_change(thread):
    with connection():
        writes.bump_version(thread.id)
        writes.bump_version(thread.id)
        assert Thread.get_by_id(thread.id).version == 2


def test_a_statement_whose_parameters_drift_fails_loudly(db, thread):
    with connection():
        with pytest.raises(RuntimeError, match="no longer matches"):
            writes._execute(
                "drifted", lambda: Thread.select().where(Thread.id == thread.id), (thread.id, 1)
            )
        assert "drifted" not in db.__dict__[writes._CACHE]


@pytest.mark.parametrize("returning", [True, False], ids=["upsert-returning", "upsert-then-read"])
def test_count_hit_counts_each_key_and_window_apart(db, monkeypatch, returning):
    # SQLite before 3.35 has no RETURNING: the count is read back instead
    monkeypatch.setattr(db, "returning_clause", returning and db.returning_clause)
    with connection():
        assert [writes.count_hit("comment:60:10.0.0.0", 7, 480) for _ in range(3)] == [1, 2, 3]
        assert writes.count_hit("comment:60:10.0.0.0", 8, 540) == 1  # the next window
        assert writes.count_hit("vote:60:10.0.0.0", 7, 480) == 1  # another key
        assert writes.hits_of("comment:60:10.0.0.0", 7) == 3
        assert writes.hits_of("comment:60:10.0.0.1", 7) == 0  # never counted
        rows = {(hit.key, hit.window): (hit.hits, hit.expires) for hit in RateHit.select()}
    assert rows == {
        ("comment:60:10.0.0.0", 7): (3, 480),
        ("comment:60:10.0.0.0", 8): (1, 540),
        ("vote:60:10.0.0.0", 7): (1, 480),
    }


def test_forget_hits_before_deletes_only_the_windows_that_are_over(db):
    with connection():
        writes.count_hit("a", 1, 100)
        writes.count_hit("b", 2, 200)
        writes.forget_hits_before(150)
        assert [hit.key for hit in RateHit.select()] == ["b"]
