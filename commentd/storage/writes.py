"""Hot write statements, compiled to SQL once per database and reused with parameters.

Creating a comment (and counting it against the rate limits) runs the same few statements
every time, and building them with peewee costs more than the database takes to run them.
Each statement here is built by peewee once per database (so placeholders and ``RETURNING``
suit SQLite or PostgreSQL), checked against the parameters it is then given, and from then on
executed as plain SQL. Values are converted by the fields' own ``db_value``, and rows read
back by their ``python_value``, exactly as peewee does.

The bulk statements of an import (``insert_comments``, ``link_parents``,
``existing_import_keys``, ``add_token_counts``) change shape with their row count, so they
are written out here directly, with the database's placeholder, in chunks under SQLite's
parameter limit.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    Query,
    TextField,
)

from commentd.storage.database import database_proxy, is_sqlite
from commentd.storage.models import Comment, FilterToken, RateHit, Status, Thread, text_hash

_CACHE = "_commentd_write_sql"
MAX_PARAMETERS = 32_000  # per statement: SQLite allows 32,766
LINKS = 200  # replies linked per UPDATE
TOKEN_ROWS = 300  # rows per upsert of filter tokens (3 parameters each)


def _execute(name: Any, build: Callable[[], Query], params: Sequence[Any]) -> Any:
    """Run the statement ``build()`` makes, compiled on its first use on this database.

    The first time, the parameters peewee itself binds must be ``params``: if a peewee
    upgrade ever changes their order, this fails loudly instead of writing wrong columns.
    """
    db = database_proxy.obj
    cache = db.__dict__.setdefault(_CACHE, {})
    sql = cache.get(name)
    if sql is None:
        sql, expected = build().sql()
        if list(expected) != list(params):
            raise RuntimeError(f"the compiled statement {name!r} no longer matches peewee's")
        cache[name] = sql
    return db.execute_sql(sql, params)


def _model(model: type[Model], fields: Sequence[Field], row: Sequence[Any] | None) -> Any:
    """An instance of ``model`` from a row of ``fields``, built the way peewee builds it."""
    if row is None:
        return None
    values = {
        field.name: field.python_value(value) for field, value in zip(fields, row, strict=True)
    }
    instance = model(__no_default__=1, **values)
    instance._dirty.clear()
    return instance


def _one(model: type[Model], name: str, column: Field, value: Any) -> Any:
    """The one row of ``model`` whose ``column`` is ``value``, or None, as
    ``model.get_or_none(column == value)`` returns it."""
    fields = model._meta.sorted_fields
    cursor = _execute(
        name, lambda: model.select(*fields).where(column == value).limit(1), (value, 1)
    )
    return _model(model, fields, cursor.fetchone())


def thread_for_uri(uri: str) -> Thread | None:
    """The thread at ``uri``."""
    return _one(Thread, "thread_for_uri", Thread.uri, uri)


def comment_by_id(comment_id: int) -> Comment | None:
    """The comment ``comment_id``."""
    return _one(Comment, "comment_by_id", Comment.id, comment_id)


def comment_for_update(comment_id: int) -> Comment | None:
    """The comment ``comment_id``, its row locked until the transaction ends, so that votes and
    reports on one comment count one after another (on SQLite the write transaction already
    holds the whole database)."""
    fields = Comment._meta.sorted_fields

    def build() -> Query:
        query = Comment.select(*fields).where(Comment.id == comment_id).limit(1)
        return query if is_sqlite(database_proxy.obj) else query.for_update()

    cursor = _execute("comment_for_update", build, (comment_id, 1))
    return _model(Comment, fields, cursor.fetchone())


def has_comment(
    thread_id: int, text: str, statuses: Sequence[Status], voter: str, email: str | None
) -> bool:
    """Whether ``thread_id`` holds ``text`` in one of ``statuses`` from the same person:
    the same ``voter``, or (when given) the same ``email``. One index lookup by the text's
    hash, however long the thread."""
    hashed = text_hash(text)
    status_values = [Comment.status.db_value(status) for status in statuses]

    def build() -> Query:
        same_person = Comment.voter == voter
        if email:
            same_person |= Comment.email == email
        return (
            Comment.select(SQL("1"))
            .where(
                (Comment.thread == thread_id)
                & (Comment.text_hash == hashed)
                & (Comment.text == text)
                & Comment.status.in_(statuses)
                & same_person
            )
            .limit(1)
        )

    params = [thread_id, hashed, text, *status_values, voter]
    if email:
        params.append(email)
    params.append(1)  # the limit
    name = ("has_comment", len(status_values), bool(email))
    return _execute(name, build, params).fetchone() is not None


def insert_comment(comment: Comment) -> Comment:
    """Insert a new, unsaved ``comment`` and give it its id, as ``Comment.create`` does."""
    data = comment.__data__
    fields = [
        field
        for field in Comment._meta.sorted_fields
        if field.name in data and field is not Comment.id
    ]
    params = [field.db_value(data[field.name]) for field in fields]
    name = ("insert_comment", *(field.name for field in fields))
    cursor = _execute(
        name, lambda: Comment.insert({field: data[field.name] for field in fields}), params
    )
    db = database_proxy.obj
    comment.id = cursor.fetchone()[0] if db.returning_clause else cursor.lastrowid
    comment._dirty.clear()
    return comment


def bump_version(thread_id: int) -> None:
    """Count one more visible change of the thread ``thread_id``."""
    _execute(
        "bump_version",
        lambda: Thread.update(version=Thread.version + 1).where(Thread.id == thread_id),
        (1, thread_id),
    )


def count_hit(key: str, window: int, expires: int) -> int:
    """One more hit for ``key`` in ``window`` (its row made by the first); the hits so far."""

    def upsert() -> Query:
        return RateHit.insert(key=key, window=window, hits=1, expires=expires).on_conflict(
            conflict_target=[RateHit.key, RateHit.window],
            update={RateHit.hits: RateHit.hits + 1},
        )

    params = (key, window, 1, expires, 1)
    if database_proxy.obj.returning_clause:  # the upsert itself says what it counted
        cursor = _execute("count_hit_returning", lambda: upsert().returning(RateHit.hits), params)
        return cursor.fetchone()[0]
    _execute("count_hit", upsert, params)
    return hits_of(key, window)


def hits_of(key: str, window: int) -> int:
    """The hits counted for ``key`` in ``window`` (0 when none)."""
    cursor = _execute(
        "hits_of",
        lambda: RateHit.select(RateHit.hits).where(
            (RateHit.key == key) & (RateHit.window == window)
        ),
        (key, window),
    )
    row = cursor.fetchone()
    return row[0] if row is not None else 0


def forget_hits_before(now: int) -> None:
    """Delete every window of every key that is over at ``now``."""
    _execute("forget_hits", lambda: RateHit.delete().where(RateHit.expires < now), (now,))


def allocate_comment_ids(count: int) -> list[int]:
    """``count`` new comment ids, in increasing order, for rows inserted with them later in
    this write transaction: on SQLite the ones it would pick itself (the transaction holds
    the write lock), on PostgreSQL the id sequence's next values."""
    if count <= 0:
        return []
    db = database_proxy.obj
    table = Comment._meta.table_name
    if is_sqlite(db):
        last = db.execute_sql(f'SELECT max("id") FROM "{table}"').fetchone()[0] or 0
        return list(range(last + 1, last + 1 + count))
    cursor = db.execute_sql(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
        f"FROM generate_series(1, {db.param})",
        [count],
    )
    return sorted(value for (value,) in cursor.fetchall())


# Fields whose values an imported row already holds in the driver's own type: no conversion.
_PLAIN_FIELDS = (AutoField, BigIntegerField, BooleanField, CharField, ForeignKeyField)
_PLAIN_FIELDS += (IntegerField, TextField)


def insert_comments(rows: Sequence[dict[str, Any]]) -> None:
    """Insert imported comments, each with its ``id`` (``allocate_comment_ids``). Columns a
    row leaves out get the field's default, as ``Comment.insert`` gives them; fields that
    convert their values (dates, the status) convert them with their own ``db_value``.

    SQLite runs one prepared statement for every row (``executemany``); PostgreSQL, where
    each statement is a round trip, takes them in multi-row statements under
    ``MAX_PARAMETERS``."""
    if not rows:
        return
    fields = list(Comment._meta.sorted_fields)
    defaults = {
        field.name: field.default() if callable(field.default) else field.default
        for field in fields
        if field.name not in rows[0]
    }
    values_of = operator.itemgetter(*(field.name for field in fields))
    converted = [
        (index, field.db_value)
        for index, field in enumerate(fields)
        if type(field) not in _PLAIN_FIELDS
    ]
    params = []
    for row in rows:
        values = list(values_of({**defaults, **row} if defaults else row))
        for index, convert in converted:
            values[index] = convert(values[index])
        params.append(values)
    db = database_proxy.obj
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    group = "(" + ", ".join([db.param] * len(fields)) + ")"
    insert = f'INSERT INTO "{Comment._meta.table_name}" ({columns}) VALUES '
    if is_sqlite(db):
        db.cursor().executemany(insert + group, params)
        return
    step = MAX_PARAMETERS // len(fields)
    for start in range(0, len(params), step):
        chunk = params[start : start + step]
        db.execute_sql(insert + ", ".join([group] * len(chunk)), [v for row in chunk for v in row])


def link_parents(links: dict[int, int]) -> None:
    """Set the parent of each comment ``child: parent`` of ``links``, in one statement."""
    if not links:
        return
    db = database_proxy.obj
    pairs = list(links.items())
    for start in range(0, len(pairs), LINKS):  # a CASE is searched in order: keep it short
        chunk = pairs[start : start + LINKS]
        cases = " ".join([f"WHEN {db.param} THEN {db.param}"] * len(chunk))
        places = ", ".join([db.param] * len(chunk))
        db.execute_sql(
            f'UPDATE "comment" SET "parent_id" = CASE "id" {cases} END WHERE "id" IN ({places})',
            [*(value for pair in chunk for value in pair), *(child for child, _ in chunk)],
        )


def add_token_counts(rows: Sequence[tuple[int, int, int]]) -> None:
    """Add ``(token, spam, ham)`` to the spam filter's rows, creating missing ones: atomic
    upserts, in statements of ``TOKEN_ROWS`` rows, in the order given (callers sort them, so
    two writers lock rows in the same order)."""
    db = database_proxy.obj
    table = FilterToken._meta.table_name
    for start in range(0, len(rows), TOKEN_ROWS):
        chunk = rows[start : start + TOKEN_ROWS]
        groups = ", ".join([f"({db.param}, {db.param}, {db.param})"] * len(chunk))
        db.execute_sql(
            f'INSERT INTO "{table}" ("token", "spam", "ham") VALUES {groups} '
            f'ON CONFLICT ("token") DO UPDATE SET "spam" = "{table}"."spam" + EXCLUDED."spam", '
            f'"ham" = "{table}"."ham" + EXCLUDED."ham"',
            [value for row in chunk for value in row],
        )


def existing_import_keys(keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are already some comment's ``idempotency_key``."""
    if not keys:
        return set()
    db = database_proxy.obj
    found: set[str] = set()
    for start in range(0, len(keys), MAX_PARAMETERS):
        chunk = list(keys[start : start + MAX_PARAMETERS])
        places = ", ".join([db.param] * len(chunk))
        cursor = db.execute_sql(
            f'SELECT "idempotency_key" FROM "{Comment._meta.table_name}" '
            f'WHERE "idempotency_key" IN ({places})',
            chunk,
        )
        found.update(key for (key,) in cursor.fetchall())
    return found
