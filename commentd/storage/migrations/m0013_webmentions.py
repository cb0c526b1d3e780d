"""Add Webmentions: the webmention table, and each comment's kind, source page and photo."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, Model


class Thread(Model):
    class Meta:
        table_name = "thread"


class Comment(Model):
    class Meta:
        table_name = "comment"


class Webmention(Model):
    source = CharField(max_length=1024)
    target = CharField(max_length=1024)
    uri = CharField(max_length=1024)
    thread = ForeignKeyField(Thread, null=True, on_delete="CASCADE")
    comment = ForeignKeyField(Comment, null=True, on_delete="SET NULL")
    status = CharField(max_length=16, default="queued")
    kind = CharField(max_length=16, null=True)
    author_name = CharField(max_length=256, null=True)
    author_url = CharField(max_length=1024, null=True)
    author_photo = CharField(max_length=1024, null=True)
    published = DateTimeField(null=True)
    received = DateTimeField()
    verified = DateTimeField(null=True)
    error = CharField(max_length=512, null=True)

    class Meta:
        table_name = "webmention"
        indexes = (
            (("source", "target"), True),
            (("thread", "kind", "status"), False),
        )


def up(db) -> None:
    """Add the columns (every comment there was posted here: kind "comment") and the table."""
    # Plain ALTER TABLEs with their defaults: playhouse would rebuild SQLite's comment table,
    # and dropping the old one would cascade to its votes and reports.
    db.execute_sql("ALTER TABLE comment ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'comment'")
    db.execute_sql("ALTER TABLE comment ADD COLUMN source VARCHAR(1024)")
    db.execute_sql("ALTER TABLE comment ADD COLUMN photo VARCHAR(1024)")
    with db.bind_ctx([Thread, Comment, Webmention]):
        db.create_tables([Webmention])
