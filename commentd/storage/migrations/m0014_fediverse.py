"""Add the Fediverse: remote accounts, followers, published posts, remote notes, reactions."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, Model, TextField


class Thread(Model):
    class Meta:
        table_name = "thread"


class Comment(Model):
    class Meta:
        table_name = "comment"


class RemoteActor(Model):
    uri = CharField(max_length=1024, unique=True)
    key_id = CharField(max_length=1024, index=True)
    public_key = TextField()
    inbox = CharField(max_length=1024)
    shared_inbox = CharField(max_length=1024, null=True)
    name = CharField(max_length=256, null=True)
    handle = CharField(max_length=256, null=True)
    url = CharField(max_length=1024, null=True)
    icon = CharField(max_length=1024, null=True)
    fetched = DateTimeField()

    class Meta:
        table_name = "remote_actor"


class Follower(Model):
    actor = ForeignKeyField(RemoteActor, unique=True, on_delete="CASCADE")
    follow = CharField(max_length=1024)
    created = DateTimeField()

    class Meta:
        table_name = "follower"


class FediversePost(Model):
    thread = ForeignKeyField(Thread, unique=True, on_delete="CASCADE")
    url = CharField(max_length=1024)
    title = CharField(max_length=512)
    summary = TextField(default="")
    published = DateTimeField(index=True)
    updated = DateTimeField(null=True)

    class Meta:
        table_name = "fediverse_post"


class RemoteNote(Model):
    uri = CharField(max_length=1024, unique=True)
    comment = ForeignKeyField(Comment, unique=True, on_delete="CASCADE")
    actor = ForeignKeyField(RemoteActor, on_delete="CASCADE")

    class Meta:
        table_name = "remote_note"


class Reaction(Model):
    activity = CharField(max_length=1024, unique=True)
    thread = ForeignKeyField(Thread, on_delete="CASCADE")
    actor = ForeignKeyField(RemoteActor, on_delete="CASCADE")
    kind = CharField(max_length=16)
    created = DateTimeField()

    class Meta:
        table_name = "reaction"
        indexes = ((("thread", "kind"), False),)


TABLES = [RemoteActor, Follower, FediversePost, RemoteNote, Reaction]


def up(db) -> None:
    """Create the five tables; nothing existing changes."""
    with db.bind_ctx([Thread, Comment, *TABLES]):
        db.create_tables(TABLES)
