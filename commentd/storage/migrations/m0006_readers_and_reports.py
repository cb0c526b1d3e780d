"""Add reader ids (vote.network, comment.reader) and readers' reports of comments."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, Model
from playhouse.migrate import SchemaMigrator, migrate


class Comment(Model):
    class Meta:
        table_name = "comment"


class Report(Model):
    comment = ForeignKeyField(Comment, on_delete="CASCADE")
    reporter = CharField(max_length=64)
    reason = CharField(max_length=16)
    created = DateTimeField()

    class Meta:
        table_name = "report"
        indexes = ((("comment", "reporter"), True),)


def up(db) -> None:
    """Add the two columns (NULL on every row there: votes so far are keyed by address) and
    the report table."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("vote", "network", CharField(max_length=64, null=True)),
        migrator.add_column("comment", "reader", CharField(max_length=64, null=True)),
    )
    with db.bind_ctx([Report]):
        db.create_tables([Report])
