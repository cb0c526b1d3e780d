"""Add pinned comments, the audit log, the outbox and single-use link records."""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, IntegerField, Model, TextField
from playhouse.migrate import SchemaMigrator, migrate


class AuditEntry(Model):
    created = DateTimeField(index=True)
    actor = CharField(max_length=32)
    actor_name = CharField(max_length=256, null=True)
    address = CharField(max_length=64, null=True)
    action = CharField(max_length=32)
    target_type = CharField(max_length=16)
    target_id = IntegerField(null=True)
    detail = TextField(default="")

    class Meta:
        table_name = "audit_entry"


class OutboxMessage(Model):
    kind = CharField(max_length=16)
    recipient = CharField(max_length=1024)
    payload = TextField()
    status = CharField(max_length=16, default="pending")
    attempts = IntegerField(default=0)
    next_attempt = DateTimeField()
    lease_until = DateTimeField(null=True)
    last_error = TextField(null=True)
    created = DateTimeField()
    sent = DateTimeField(null=True)

    class Meta:
        table_name = "outbox_message"
        indexes = ((("status", "next_attempt"), False),)


class UsedToken(Model):
    nonce = CharField(max_length=64, primary_key=True)
    used = DateTimeField()
    expires = DateTimeField(index=True)

    class Meta:
        table_name = "used_token"


def up(db) -> None:
    """Add comment.pinned, an index on comment.email, and three tables."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("comment", "pinned", BooleanField(default=False)),
        migrator.add_index("comment", ("email",), False),
    )
    models = [AuditEntry, OutboxMessage, UsedToken]
    with db.bind_ctx(models):
        db.create_tables(models)
