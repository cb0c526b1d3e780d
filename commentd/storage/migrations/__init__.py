"""Forward-only schema migrations.

Each migration is a module ``mNNNN_name.py`` in this package with a docstring and an
``up(db)`` function that uses its own frozen copies of the models it needs (never the live
ones, which move on). Migrations add: tables, columns with defaults, indexes. They never drop
data; the one rewrite is a normal form (m0008: emails in lower case, as they are now stored).
The applied version is kept in the ``schema_version`` table; each migration runs in its own
transaction together with the version bump.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from peewee import Database, IntegerField, Model, SqliteDatabase


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
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration versions must be 1..N without gaps, got {versions}")
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
        if not pending_migrations(db):
            return applied
        with _foreign_keys_deferred(db):
            for migration in all_migrations():
                with db.atomic():
                    # Re-read inside the write transaction: another process may have migrated.
                    version = SchemaVersion.select().first().version
                    if migration.version <= version:
                        continue
                    migration.module.up(db)
                    _check_foreign_keys(db)
                    SchemaVersion.update(version=migration.version).execute()
                applied.append(migration)
    return applied


@contextlib.contextmanager
def _foreign_keys_deferred(db: Database) -> Iterator[None]:
    """SQLite rebuilds a table to change a column (peewee's migrator does for a NOT NULL one):
    it copies the rows, drops the table and renames the copy. With foreign keys enforced the
    drop deletes every row that references the table (``ON DELETE CASCADE``: a comment's
    votes). SQLite's own procedure for such changes (https://sqlite.org/lang_altertable.html)
    turns enforcement off around them and checks the keys before committing, as this does."""
    if not isinstance(db, SqliteDatabase):
        yield
        return
    db.execute_sql("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: none is open
    try:
        yield
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")


def _check_foreign_keys(db: Database) -> None:
    if isinstance(db, SqliteDatabase):
        broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"a migration left rows with broken foreign keys: {broken[:5]}")
