"""Forward-only schema migrations.

Each migration is a module ``mNNNN_name.py`` in this package with a docstring and an
``up(db)`` function that uses its own frozen copies of the models it needs (never the live
ones, which move on). Migrations only add: tables, columns with defaults, indexes. They never
drop or rewrite data. The applied version is kept in the ``schema_version`` table; each
migration runs in its own transaction together with the version bump.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from peewee import Database, IntegerField, Model


class SchemaVersion(Model):
    version = IntegerField()

    class Meta:
        table_name = "schema_version"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    module: ModuleType

    @property
    def description(self) -> str:
        return (self.module.__doc__ or self.name).strip().splitlines()[0]


def all_migrations() -> list[Migration]:
    """Every migration in this package, in version order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(Migration(int(info.name[1:5]), info.name, module))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    # Numbers are handed out to branches ahead of their merge, so one may be missing for a
    # while; two migrations with one number would be a merge gone wrong.
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"migration versions must be unique and from 1, got {versions}")
    return found


def current_version(db: Database) -> int:
    """The schema version of ``db``; 0 for an empty database."""
    with SchemaVersion.bind_ctx(db):
        if not db.table_exists(SchemaVersion._meta.table_name):
            return 0
        row = SchemaVersion.select().first()
        return row.version if row else 0


def pending_migrations(db: Database) -> list[Migration]:
    """The migrations ``db`` has not had yet."""
    version = current_version(db)
    return [m for m in all_migrations() if m.version > version]


def migrate(db: Database) -> list[Migration]:
    """Apply every pending migration to ``db``; returns those applied."""
    applied = []
    with SchemaVersion.bind_ctx(db):
        with db.atomic():
            db.create_tables([SchemaVersion], safe=True)
            if not SchemaVersion.select().exists():
                SchemaVersion.create(version=0)
        for migration in all_migrations():
            with db.atomic():
                # Re-read inside the write transaction: another process may have migrated.
                version = SchemaVersion.select().first().version
                if migration.version <= version:
                    continue
                migration.module.up(db)
                SchemaVersion.update(version=migration.version).execute()
            applied.append(migration)
    return applied
