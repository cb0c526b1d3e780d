"""Add rate-limit counters, shared by every process of a site."""

from __future__ import annotations

from peewee import CharField, IntegerField, Model


class RateHit(Model):
    key = CharField(max_length=128)
    window = IntegerField()
    hits = IntegerField(default=0)
    expires = IntegerField(index=True)

    class Meta:
        table_name = "rate_hit"
        indexes = ((("key", "window"), True),)


def up(db) -> None:
    """Create the rate_hit table."""
    with db.bind_ctx([RateHit]):
        db.create_tables([RateHit])
