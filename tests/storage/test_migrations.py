"""Migrations build exactly the schema the models describe, and never lose data."""

from __future__ import annotations

import pytest

from commentd.storage.database import connection, is_sqlite, open_database
from commentd.storage.migrations import (
    SchemaVersion,
    all_migrations,
    current_version,
    migrate,
    pending_migrations,
)
from commentd.storage.models import (
    MODELS,
    Comment,
    FilterToken,
    Refusal,
    Report,
    Subscriber,
    Thread,
    Vote,
    text_hash,
)


def schema(db) -> dict:
    """Tables, columns, indexes and foreign keys as the database reports them."""
    described = {}
    for table in sorted(db.get_tables()):
        if table == "schema_version":
            continue
        described[table] = {
            "columns": sorted(
                (c.name, c.data_type.lower(), c.null, c.primary_key) for c in db.get_columns(table)
            ),
            "indexes": sorted(
                (tuple(i.columns), i.unique)
                for i in db.get_indexes(table)
                if not i.name.endswith("_pkey")
            ),
            "foreign_keys": sorted(
                (f.column, f.dest_table, f.dest_column) for f in db.get_foreign_keys(table)
            ),
        }
    return described


def drop_everything(db) -> None:
    db.drop_tables([*MODELS], safe=True, cascade=not is_sqlite(db))
    db.execute_sql("DROP TABLE IF EXISTS schema_version")


def at_version(db, version: int) -> str:
    """Build ``db`` as migrations 1 to ``version`` left it, with one thread (id 1) in it; the
    placeholder for parameters ("?" on SQLite, "%s" on PostgreSQL)."""
    with db.atomic(), SchemaVersion.bind_ctx(db):
        db.create_tables([SchemaVersion])
        SchemaVersion.create(version=version)
        for migration in all_migrations()[:version]:
            migration.module.up(db)
    db.execute_sql(
        "INSERT INTO thread (uri, created, locked, version) VALUES"
        f" ('/t/', '2026-01-01 00:00:00', {db.param}, 0)",
        (False,),
    )
    return db.param


def test_migrated_schema_equals_the_models(database_url):
    db = open_database(database_url)
    with connection():
        migrate(db)
        migrated = schema(db)
        drop_everything(db)
        db.create_tables(MODELS)
        from_models = schema(db)
    assert set(migrated) == {
        "setting",
        "thread",
        "comment",
        "vote",
        "report",
        "rate_hit",
        "audit_entry",
        "outbox_message",
        "used_token",
        "ban",
        "filter_token",
        "refusal",
        "subscriber",
        "digest_period",
        "webmention",
        "remote_actor",
        "follower",
        "fediverse_post",
        "remote_note",
        "reaction",
        "avatar",
    }
    assert migrated == from_models


def test_migrate_is_idempotent_and_versioned(database_url):
    db = open_database(database_url)
    with connection():
        assert current_version(db) == 0
        assert [m.version for m in pending_migrations(db)] == [m.version for m in all_migrations()]
        applied = migrate(db)
        assert [m.version for m in applied] == [m.version for m in all_migrations()]
        assert current_version(db) == all_migrations()[-1].version
        assert migrate(db) == []
        assert pending_migrations(db) == []


def test_migrating_again_keeps_every_row(database_url):
    db = open_database(database_url)
    with connection():
        migrate(db)
        thread = Thread.create(uri="/kept/")
        Comment.create(thread=thread, text="kept", html="<p>kept</p>")
        migrate(db)
        assert [c.text for c in Comment.select()] == ["kept"]


def test_every_migration_describes_itself():
    for migration in all_migrations():
        assert migration.description
        assert callable(migration.module.up)


def test_text_hashes_are_filled_in_for_comments_written_before_them(database_url):
    """Migration 5 adds ``comment.text_hash``; comments already there get theirs."""
    db = open_database(database_url)
    with connection():
        migrations = all_migrations()
        mark = at_version(db, 4)
        thread_id = db.execute_sql("SELECT id FROM thread").fetchone()[0]
        texts = [f"old comment {n}" for n in range(2_500)] + [""]  # more than one batch
        for text in texts:
            db.execute_sql(
                "INSERT INTO comment (thread_id, text, html, created, status, likes, dislikes,"
                f" notify, pinned) VALUES ({mark}, {mark}, '', '2026-01-01 00:00:00',"
                f" 'approved', 0, 0, {mark}, {mark})",
                (thread_id, text, False, False),
            )
        assert [m.version for m in migrate(db)] == [m.version for m in migrations[4:]]
        stored = {c.text: c.text_hash for c in Comment.select()}
    assert len(stored) == len(texts)
    assert stored[""] is None
    assert all(stored[text] == text_hash(text) for text in texts if text)


def test_votes_stored_before_reader_ids_keep_their_counts(database_url):
    """Migration 6 adds ``vote.network``, ``comment.reader`` and reports; the votes already
    there stay, keyed by address, with no network, and every tally stays as it was."""
    db = open_database(database_url)
    with connection():
        migrations = all_migrations()
        mark = at_version(db, 5)
        thread_id = db.execute_sql("SELECT id FROM thread").fetchone()[0]
        votes = {1: (3, 1), 2: (0, 2), 3: (0, 0)}  # comment: (likes, dislikes)
        for number, (likes, dislikes) in votes.items():
            db.execute_sql(
                "INSERT INTO comment (id, thread_id, text, html, created, status, likes,"
                f" dislikes, notify, pinned, voter) VALUES ({mark}, {mark}, 'c', '',"
                f" '2026-01-01 00:00:00', 'approved', {mark}, {mark}, {mark}, {mark}, 'author')",
                (number, thread_id, likes, dislikes, False, False),
            )
            for n, value in enumerate([1] * likes + [-1] * dislikes):
                db.execute_sql(
                    "INSERT INTO vote (comment_id, voter, value, created) VALUES"
                    f" ({mark}, {mark}, {mark}, '2026-01-01 00:00:00')",
                    (number, f"address-{n}", value),
                )
        assert [m.version for m in migrate(db)] == [m.version for m in migrations[5:]]
        tallies = {c.id: (c.likes, c.dislikes) for c in Comment.select()}
        counted = {
            number: (
                Vote.select().where((Vote.comment == number) & (Vote.value == 1)).count(),
                Vote.select().where((Vote.comment == number) & (Vote.value == -1)).count(),
            )
            for number in votes
        }
        assert tallies == counted == votes
        assert Vote.select().where(Vote.network.is_null()).count() == 6
        assert all(c.reader is None for c in Comment.select())
        assert Report.select().count() == 0


def test_emails_and_bans_stored_before_normal_forms_are_brought_into_them(database_url):
    """Migration 8: stored emails trimmed and lower-cased, email and phrase bans in normal form;
    two bans that become one are one; every comment stays."""
    db = open_database(database_url)
    with connection():
        migrations = all_migrations()
        mark = at_version(db, 7)
        thread_id = db.execute_sql("SELECT id FROM thread").fetchone()[0]
        emails = {1: " Ada@Example.COM", 2: "bob@example.com", 3: None}
        for number, email in emails.items():
            db.execute_sql(
                "INSERT INTO comment (id, thread_id, text, html, created, status, likes,"
                f" dislikes, notify, pinned, email) VALUES ({mark}, {mark}, 'c', '',"
                f" '2026-01-01 00:00:00', 'approved', 0, 0, {mark}, {mark}, {mark})",
                (number, thread_id, False, False, email),
            )
        bans = [
            ("word", "Cheap   PILLS"),
            ("word", "cheap pills"),
            ("email", "Spam@Example.com"),
            ("ip", "10.0.0.0/8"),
        ]
        for kind, value in bans:
            db.execute_sql(
                f"INSERT INTO ban (kind, value, created) VALUES ({mark}, {mark},"
                " '2026-01-01 00:00:00')",
                (kind, value),
            )
        assert [m.version for m in migrate(db)] == [m.version for m in migrations[7:]]
        stored = dict(db.execute_sql("SELECT id, email FROM comment").fetchall())
        assert stored == {1: "ada@example.com", 2: "bob@example.com", 3: None}
        kept = sorted(db.execute_sql("SELECT kind, value FROM ban").fetchall())
        assert kept == [
            ("email", "spam@example.com"),
            ("ip", "10.0.0.0/8"),
            ("word", "cheap pills"),
        ]


@pytest.mark.parametrize("start", range(1, len(all_migrations())))
def test_every_upgrade_keeps_votes_replies_and_counts(database_url, start):
    """From each earlier version to the last: the rows of the first schema all survive. On
    SQLite a column change rebuilds its table; with foreign keys enforced, the old table's
    drop would delete every vote (ON DELETE CASCADE) and reply link (SET NULL) with it."""
    db = open_database(database_url)
    with connection():
        mark = at_version(db, start)
        # Columns with a default only in Python, added by later migrations, are given.
        defaults = {"pinned": False, "likes_base": 0, "dislikes_base": 0}
        later = [c.name for c in db.get_columns("comment") if c.name in defaults]
        for number, parent in ((1, None), (2, 1)):
            db.execute_sql(
                "INSERT INTO comment (id, thread_id, parent_id, text, html, created, status,"
                f" likes, dislikes, notify{''.join(', ' + c for c in later)}) VALUES"
                f" ({mark}, 1, {mark}, 'c', '', '2026-01-01 00:00:00', 'approved', 2, 1,"
                f" {mark}{f', {mark}' * len(later)})",
                (number, parent, False, *[defaults[c] for c in later]),
            )
            for n, value in enumerate((1, 1, -1)):
                db.execute_sql(
                    "INSERT INTO vote (comment_id, voter, value, created) VALUES"
                    f" ({mark}, {mark}, {mark}, '2026-01-01 00:00:00')",
                    (number, f"voter-{n}", value),
                )
        migrate(db)
        assert Vote.select().count() == 6
        assert {c.id: (c.parent_id, c.likes, c.dislikes) for c in Comment.select()} == {
            1: (None, 2, 1),
            2: (1, 2, 1),
        }
        assert db.execute_sql("PRAGMA foreign_keys").fetchone() == (1,) if is_sqlite(db) else True


def test_comments_stored_before_the_spam_filter_are_kept_uncaught_and_untrained(database_url):
    """Migration 11 adds ``comment.caught_by``, ``comment.filter_label`` and the filter's and
    refusals' tables; comments already there keep every field, caught by nothing, untrained."""
    db = open_database(database_url)
    with connection():
        migrations = all_migrations()
        mark = at_version(db, 10)
        thread_id = 1
        for status in ("approved", "spam", "pending"):
            db.execute_sql(
                "INSERT INTO comment (thread_id, text, html, created, status, likes, dislikes,"
                f" likes_base, dislikes_base, notify, pinned) VALUES ({mark}, {mark}, '',"
                f" '2026-01-01 00:00:00', {mark}, 0, 0, 0, 0, {mark}, {mark})",
                (thread_id, f"a {status} comment", status, False, False),
            )
        assert [m.version for m in migrate(db)] == [m.version for m in migrations[10:]]
        rows = {c.text: (c.status.value, c.caught_by, c.filter_label) for c in Comment.select()}
        assert rows == {
            "a approved comment": ("approved", None, None),
            "a spam comment": ("spam", None, None),
            "a pending comment": ("pending", None, None),
        }
        assert FilterToken.select().count() == 0
        assert Refusal.select().count() == 0


def test_subscribers_from_before_opt_in_keep_their_comments_votes_and_wish(database_url):
    """Migration 12 adds ``comment.notify_thread`` and the subscriber and digest tables: every
    comment, vote and report stays, "notify me" stays ticked, and no address is confirmed."""
    db = open_database(database_url)
    with connection():
        migrations = all_migrations()
        mark = at_version(db, 11)
        thread_id = 1
        for number, notify in ((1, True), (2, False)):
            db.execute_sql(
                "INSERT INTO comment (id, thread_id, text, html, created, status, likes,"
                " dislikes, likes_base, dislikes_base, notify, pinned, email) VALUES"
                f" ({mark}, {mark}, 'c', '', '2026-01-01 00:00:00', 'approved', 1, 0, 0, 0,"
                f" {mark}, {mark}, 'pat@example.com')",
                (number, thread_id, notify, False),
            )
            db.execute_sql(
                "INSERT INTO vote (comment_id, voter, value, created) VALUES"
                f" ({mark}, 'someone', 1, '2026-01-01 00:00:00')",
                (number,),
            )
            db.execute_sql(
                "INSERT INTO report (comment_id, reporter, reason, created) VALUES"
                f" ({mark}, 'someone', 'spam', '2026-01-01 00:00:00')",
                (number,),
            )
        assert [m.version for m in migrate(db)] == [
            m.version for m in migrations if m.version >= 12
        ]
        comments = {c.id: (c.notify, c.notify_thread, c.email) for c in Comment.select()}
        assert comments == {
            1: (True, False, "pat@example.com"),
            2: (False, False, "pat@example.com"),
        }
        assert Vote.select().count() == 2
        assert Report.select().count() == 2
        assert Subscriber.select().count() == 0  # nobody confirmed anything yet
