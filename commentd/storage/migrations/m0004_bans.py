"""Add bans: emails, networks and words that may not comment, kept in the database."""

from __future__ import annotations

from peewee import CharField, DateTimeField, Model


class Ban(Model):
    kind = CharField(max_length=8)
    value = CharField(max_length=256)
    created = DateTimeField()
    reason = CharField(max_length=256, null=True)

    class Meta:
        table_name = "ban"
        indexes = ((("kind", "value"), True),)


def up(db) -> None:
    """Create the ban table."""
    with db.bind_ctx([Ban]):
        db.create_tables([Ban])
