"""Add the spam filter's model, which signal caught each comment, and counted refusals."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateField, IntegerField, Model
from playhouse.migrate import SchemaMigrator, migrate


class FilterToken(Model):
    token = BigIntegerField(primary_key=True)
    spam = IntegerField(default=0)
    ham = IntegerField(default=0)

    class Meta:
        table_name = "filter_token"


class Refusal(Model):
    day = DateField()
    signal = CharField(max_length=16)
    count = IntegerField(default=0)

    class Meta:
        table_name = "refusal"
        indexes = ((("day", "signal"), True),)


def up(db) -> None:
    """Add comment.caught_by and comment.filter_label (NULL on every row there: nothing was
    recorded before, and no comment has trained the filter yet) and the two tables."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("comment", "caught_by", CharField(max_length=16, null=True)),
        migrator.add_column("comment", "filter_label", CharField(max_length=8, null=True)),
    )
    with db.bind_ctx([FilterToken, Refusal]):
        db.create_tables([FilterToken, Refusal])
