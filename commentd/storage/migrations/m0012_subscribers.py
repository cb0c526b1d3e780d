"""Add double opt-in notifications: the subscriber table, thread subscriptions and digests."""

from __future__ import annotations

from peewee import CharField, DateTimeField, IntegerField, Model, SqliteDatabase


class Subscriber(Model):
    digest = CharField(max_length=64, unique=True)
    email = CharField(max_length=256)
    lang = CharField(max_length=16, null=True)
    created = DateTimeField()
    asked = DateTimeField(null=True)
    confirmed = DateTimeField(null=True)

    class Meta:
        table_name = "subscriber"


class DigestPeriod(Model):
    period = CharField(max_length=32, unique=True)
    claimed = DateTimeField()
    comments = IntegerField(default=0)

    class Meta:
        table_name = "digest_period"


def up(db) -> None:
    """Add comment.notify_thread (false on every row there) and the two tables.

    Comments that ticked "notify me" before keep ``notify``: their addresses have no
    subscriber row yet (its digest needs the site secret, which a migration does not have),
    so they count as unconfirmed and are sent one confirmation mail the first time a reply
    would notify them; nothing else until they follow it.
    """
    # One ALTER TABLE with the default: playhouse's add_column would add the column as NULL
    # and then rebuild SQLite's table to make it NOT NULL, and dropping the old comment table
    # would cascade to its votes and reports.
    sqlite = isinstance(db, SqliteDatabase)
    kind, false = ("INTEGER", "0") if sqlite else ("BOOLEAN", "FALSE")
    db.execute_sql(f"ALTER TABLE comment ADD COLUMN notify_thread {kind} NOT NULL DEFAULT {false}")
    with db.bind_ctx([Subscriber, DigestPeriod]):
        db.create_tables([Subscriber, DigestPeriod])
