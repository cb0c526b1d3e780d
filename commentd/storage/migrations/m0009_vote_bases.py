"""Add comment.likes_base and dislikes_base: the votes a comment was imported with, which new
votes add to instead of replacing."""

from __future__ import annotations

from peewee import IntegerField
from playhouse.migrate import SchemaMigrator, migrate


def up(db) -> None:
    """Add the columns, then give each comment the part of its counts no vote row backs (an
    import's counts; 0 for comments whose every vote is a row)."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("comment", "likes_base", IntegerField(default=0)),
        migrator.add_column("comment", "dislikes_base", IntegerField(default=0)),
    )
    for base, count, value in (("likes_base", "likes", 1), ("dislikes_base", "dislikes", -1)):
        rows = (
            "(SELECT COUNT(*) FROM vote"
            f" WHERE vote.comment_id = comment.id AND vote.value = {value})"
        )
        db.execute_sql(f"UPDATE comment SET {base} = {count} - {rows} WHERE {count} > {rows}")
