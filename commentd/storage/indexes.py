"""A bulk load into an empty table builds its indexes once at the end, not row by row.

Keeping eight indexes up to date costs SQLite three times what writing the row does; building
them afterwards costs a fraction of that. ``deferred`` drops a table's non-unique indexes (the
unique ones stay: they keep the load correct) and builds them again when the block ends,
however it ends. The dropped indexes' definitions are saved in the ``Setting`` table first,
in the same transaction as the drop, so that a process killed in between loses nothing:
``rebuild_deferred``, run whenever the database is opened for writing, builds them again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from peewee import Model

from commentd.storage.database import database_proxy, write_transaction
from commentd.storage.models import Setting

SETTING = "deferred_indexes"


def _if_not_exists(sql: str) -> str:
    """``CREATE INDEX name ...`` as ``CREATE INDEX IF NOT EXISTS name ...``."""
    head = "CREATE INDEX "
    if not sql.upper().startswith(head) or sql.upper().startswith(head + "IF NOT EXISTS"):
        return sql
    return head + "IF NOT EXISTS " + sql[len(head) :]


def _saved() -> list[str]:
    row = Setting.get_or_none(Setting.key == SETTING)
    return json.loads(row.value) if row is not None else []


def defer(model: type[Model]) -> list[str]:
    """Drop the non-unique indexes of ``model``'s table and save their definitions; their
    names (none when the table is not empty, or its indexes are already deferred)."""
    db = database_proxy.obj
    table = model._meta.table_name
    with write_transaction():
        if model.select().exists() or _saved():
            return []
        indexes = [index for index in db.get_indexes(table) if not index.unique and index.sql]
        if not indexes:
            return []
        Setting.insert(key=SETTING, value=json.dumps([i.sql for i in indexes])).execute()
        for index in indexes:
            db.execute_sql(f'DROP INDEX "{index.name}"')
    return [index.name for index in indexes]


def rebuild_deferred() -> int:
    """Build every index ``defer`` dropped and forget them; how many it built."""
    if not _saved():
        return 0
    with write_transaction():
        saved = _saved()
        for sql in saved:
            database_proxy.obj.execute_sql(_if_not_exists(sql))
        Setting.delete().where(Setting.key == SETTING).execute()
    return len(saved)


@contextmanager
def deferred(model: type[Model]) -> Iterator[list[str]]:
    """While the block runs, ``model``'s empty table has no non-unique indexes (see
    ``defer``); they are built again when it ends."""
    names = defer(model)
    try:
        yield names
    finally:
        if names:
            rebuild_deferred()
