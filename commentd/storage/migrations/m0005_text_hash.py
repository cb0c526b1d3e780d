"""Add comment.text_hash, indexed with the thread, so double-post checks are one lookup."""

from __future__ import annotations

import hashlib

from peewee import BigIntegerField, Model, TextField
from playhouse.migrate import SchemaMigrator, migrate

BATCH = 1_000


class Comment(Model):
    text = TextField()
    text_hash = BigIntegerField(null=True)

    class Meta:
        table_name = "comment"


def _hash(text: str) -> int:
    """The same value as ``commentd.storage.models.text_hash`` (frozen here on purpose)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def up(db) -> None:
    """Add the column and its index, and fill it in for every comment with text."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("comment", "text_hash", BigIntegerField(null=True)),
        migrator.add_index("comment", ("thread_id", "text_hash"), False),
    )
    with db.bind_ctx([Comment]):
        last = 0
        while True:
            rows = list(
                Comment.select(Comment.id, Comment.text)
                .where((Comment.id > last) & (Comment.text != ""))
                .order_by(Comment.id)
                .limit(BATCH)
                .tuples()
            )
            if not rows:
                return
            for comment_id, text in rows:
                Comment.update(text_hash=_hash(text)).where(Comment.id == comment_id).execute()
            last = rows[-1][0]
