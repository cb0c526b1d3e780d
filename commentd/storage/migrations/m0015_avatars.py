"""Add kept pictures: the avatar table, and each comment's picture digest."""

from __future__ import annotations

from peewee import BlobField, CharField, DateTimeField, Model


class Avatar(Model):
    digest = CharField(max_length=64, primary_key=True)
    url = CharField(max_length=1024)
    status = CharField(max_length=16, default="queued")
    content_type = CharField(max_length=32, null=True)
    data = BlobField(null=True)
    fetched = DateTimeField(null=True)

    class Meta:
        table_name = "avatar"


def up(db) -> None:
    """The column (no comment has a kept picture yet) and the table."""
    db.execute_sql("ALTER TABLE comment ADD COLUMN picture VARCHAR(64)")
    with db.bind_ctx([Avatar]):
        db.create_tables([Avatar])
