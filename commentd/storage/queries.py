"""Hot-path queries, compiled to SQL once per database instead of on every request.

Building a peewee query costs more than SQLite takes to answer it; for the lookups every
cached read makes, the SQL is built once and reused with new parameters.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from commentd.storage.database import database_proxy
from commentd.storage.models import Thread


class ThreadState(NamedTuple):
    id: int
    version: int
    locked: bool
    created: dt.datetime


def _compiled(name: str, build) -> str:
    db = database_proxy.obj
    cache = db.__dict__.setdefault("_commentd_sql", {})
    sql = cache.get(name)
    if sql is None:
        sql = cache[name] = build().sql()[0]
    return sql


def thread_state(uri: str) -> ThreadState | None:
    """The thread at ``uri``: id, version, locked flag and creation time."""
    sql = _compiled(
        "thread_state",
        lambda: (
            Thread.select(Thread.id, Thread.version, Thread.locked, Thread.created)
            .where(Thread.uri == "")
            .limit(1)
        ),
    )
    row = database_proxy.execute_sql(sql, (uri, 1)).fetchone()
    if row is None:
        return None
    return ThreadState(
        row[0],
        row[1],
        Thread.locked.python_value(row[2]),
        Thread.created.python_value(row[3]),
    )
