"""Create threads, comments, votes and settings."""

from __future__ import annotations

from peewee import (
    SQL,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


class Setting(Model):
    key = CharField(max_length=64, primary_key=True)
    value = TextField()

    class Meta:
        table_name = "setting"


class Thread(Model):
    uri = CharField(max_length=1024, unique=True)
    title = CharField(max_length=512, null=True)
    created = DateTimeField()
    locked = BooleanField(default=False)
    version = IntegerField(default=0)

    class Meta:
        table_name = "thread"


class Comment(Model):
    thread = ForeignKeyField(Thread, on_delete="CASCADE", index=False)
    parent = ForeignKeyField("self", null=True, on_delete="SET NULL")
    author = CharField(max_length=256, null=True)
    email = CharField(max_length=256, null=True)
    website = CharField(max_length=512, null=True)
    text = TextField()
    html = TextField()
    created = DateTimeField(index=True)
    modified = DateTimeField(null=True)
    status = CharField(max_length=16, default="approved")
    likes = IntegerField(default=0)
    dislikes = IntegerField(default=0)
    remote_addr = CharField(max_length=64, null=True)
    voter = CharField(max_length=64, null=True)
    notify = BooleanField(default=False)
    idempotency_key = CharField(max_length=64, null=True, unique=True)

    class Meta:
        table_name = "comment"
        indexes = ((("thread", "status", "created"), False),)


class Vote(Model):
    comment = ForeignKeyField(Comment, on_delete="CASCADE")
    voter = CharField(max_length=64)
    value = IntegerField(constraints=[SQL("CHECK (value IN (-1, 1))")])
    created = DateTimeField()

    class Meta:
        table_name = "vote"
        indexes = ((("comment", "voter"), True),)


def up(db) -> None:
    """Create the first tables."""
    models = [Setting, Thread, Comment, Vote]
    with db.bind_ctx(models):
        db.create_tables(models)
