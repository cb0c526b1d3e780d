"""Add comment.lang: the language of the page a comment was written on, for its reply mails."""

from __future__ import annotations

from peewee import CharField
from playhouse.migrate import SchemaMigrator, migrate


def up(db) -> None:
    """Add the column, NULL on every row there (their mails stay in English)."""
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("comment", "lang", CharField(max_length=16, null=True)))
