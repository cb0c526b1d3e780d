"""Index comments by reader and by network, for the proof-of-work signals asked on every post."""

from __future__ import annotations

from playhouse.migrate import SchemaMigrator, migrate


def up(db) -> None:
    """Add the two indexes; no row changes."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_index("comment", ("reader",), False),
        migrator.add_index("comment", ("remote_addr", "created"), False),
    )
