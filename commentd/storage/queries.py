"""Hot-path queries, compiled to SQL once per database instead of on every request.

Building a peewee query costs more than SQLite takes to answer it; for the lookups every
cached read makes, the SQL is built once and reused with new parameters.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import NamedTuple

from peewee import SQL, fn

from commentd.storage.database import database_proxy
from commentd.storage.models import Comment, Reaction, RemoteActor, Status, Thread, Webmention


class ThreadState(NamedTuple):
    id: int
    version: int
    locked: bool
    created: dt.datetime
    title: str | None


class CommentRow(NamedTuple):
    """A comment as a thread page shows it: its public columns, and its email (for the
    avatar's hash; it is never shown)."""

    id: int
    parent_id: int | None
    status: Status
    author: str | None
    email: str | None
    website: str | None
    html: str
    created: dt.datetime
    modified: dt.datetime | None
    likes: int
    dislikes: int
    pinned: bool
    kind: str = "comment"  # "comment", by Webmention "reply" or "mention", or "fediverse"
    source: str | None = None  # a Webmention's page on the other site, a Fediverse post
    picture: str | None = None  # the digest of its author's picture, kept here (avatars)


ROW_COLUMNS = (
    Comment.id,
    Comment.parent,
    Comment.status,
    Comment.author,
    Comment.email,
    Comment.website,
    Comment.html,
    Comment.created,
    Comment.modified,
    Comment.likes,
    Comment.dislikes,
    Comment.pinned,
    Comment.kind,
    Comment.source,
    Comment.picture,
)


def _compiled(name: str, build) -> str:
    db = database_proxy.obj
    cache = db.__dict__.setdefault("_commentd_sql", {})
    sql = cache.get(name)
    if sql is None:
        sql = cache[name] = build().sql()[0]
    return sql


def thread_state(uri: str) -> ThreadState | None:
    """The thread at ``uri``: id, version, locked flag, creation time and title."""
    sql = _compiled(
        "thread_state",
        lambda: (
            Thread.select(Thread.id, Thread.version, Thread.locked, Thread.created, Thread.title)
            .where(Thread.uri == "")
            .limit(1)
        ),
    )
    row = database_proxy.execute_sql(sql, (uri, 1)).fetchone()
    if row is None:
        return None
    return ThreadState(row[0], row[1], Thread.locked.python_value(row[2]), _created(row[3]), row[4])


@functools.lru_cache(maxsize=4096)
def _created(raw: object) -> dt.datetime:
    """A thread's stored creation time as a datetime (parsed once: it never changes)."""
    return Thread.created.python_value(raw)


def thread_versions(uris: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(uri, id, version)`` of the threads at ``uris`` that exist, from one query."""
    if not uris:
        return []
    sql = _compiled(
        f"thread_versions:{len(uris)}",
        lambda: Thread.select(Thread.uri, Thread.id, Thread.version).where(
            Thread.uri.in_([""] * len(uris))
        ),
    )
    return database_proxy.execute_sql(sql, uris).fetchall()


def thread_comments(thread_id: int, statuses: tuple[Status, ...]) -> list[CommentRow]:
    """The comments of a thread with one of ``statuses``, oldest first, as plain rows.

    A thread page reads every comment of its thread; building model instances for them
    costs more than the query.
    """
    sql = _compiled(
        f"thread_comments:{len(statuses)}",
        lambda: (
            Comment.select(*ROW_COLUMNS)
            .where((Comment.thread == 0) & Comment.status.in_(list(statuses)))
            .order_by(Comment.created, Comment.id)
        ),
    )
    cursor = database_proxy.execute_sql(sql, (thread_id, *(status.value for status in statuses)))
    return [
        CommentRow(
            row[0],
            row[1],
            Status(row[2]),
            row[3],
            row[4],
            row[5],
            row[6],
            _moment(row[7]),
            _moment(row[8]) if row[8] is not None else None,
            row[9],
            row[10],
            bool(row[11]),
            row[12] or "comment",
            row[13],
            row[14],
        )
        for row in cursor.fetchall()
    ]


#: The Webmention kinds a thread counts as reactions, not as comments.
REACTIONS = ("like", "repost", "bookmark")
#: How many of each reaction's people a thread page names.
REACTION_PEOPLE = 20


class Reactor(NamedTuple):
    """One verified like, repost or bookmark of a thread, with how many of its kind there are."""

    kind: str
    count: int
    name: str | None
    url: str | None


def thread_reactions(thread_id: int) -> list[Reactor]:
    """The newest ``REACTION_PEOPLE`` likes, reposts and bookmarks of a thread per kind,
    newest first, each with the exact count of its kind: verified Webmentions and Fediverse
    Likes and Announces together, in one query on the ``(thread, kind, ...)`` indexes,
    counted and ranked by window functions."""

    def build():
        newest = fn.COALESCE(Webmention.published, Webmention.verified, Webmention.received)
        mentions = Webmention.select(
            Webmention.kind.alias("kind"),
            Webmention.author_name.alias("name"),
            Webmention.author_url.alias("url"),
            newest.alias("moment"),
            Webmention.id.alias("serial"),
        ).where(
            (Webmention.thread == 0)
            & (Webmention.status == "verified")
            & Webmention.kind.in_([""] * len(REACTIONS))
        )
        fediverse = (
            Reaction.select(
                Reaction.kind,
                RemoteActor.name,
                RemoteActor.url,
                Reaction.created,
                -Reaction.id,  # apart from the Webmentions' ids, still in order
            )
            .join(RemoteActor)
            .where(Reaction.thread == 0)
        )
        both = (mentions + fediverse).alias("both")
        order = [both.c.moment.desc(), both.c.serial.desc()]
        ranked = (
            Webmention.select(
                both.c.kind,
                fn.COUNT(SQL("*")).over(partition_by=[both.c.kind]).alias("n"),
                fn.ROW_NUMBER().over(partition_by=[both.c.kind], order_by=order).alias("rank"),
                both.c.name,
                both.c.url,
            )
            .from_(both)
            .alias("ranked")
        )
        return (
            Webmention.select(ranked.c.kind, ranked.c.n, ranked.c.name, ranked.c.url)
            .from_(ranked)
            .where(ranked.c.rank <= REACTION_PEOPLE)
            .order_by(ranked.c.kind, ranked.c.rank)
        )

    sql = _compiled("thread_reactions", build)
    params = (thread_id, "verified", *REACTIONS, thread_id, REACTION_PEOPLE)
    cursor = database_proxy.execute_sql(sql, params)
    return [Reactor(*row) for row in cursor.fetchall()]


def _moment(raw: object) -> dt.datetime:
    """A stored time: SQLite gives ISO 8601 text, PostgreSQL a datetime."""
    return dt.datetime.fromisoformat(raw) if isinstance(raw, str) else raw


class RecentRow(NamedTuple):
    """An approved comment with its thread's uri and title, as feeds and recent lists show it."""

    comment: CommentRow
    uri: str
    title: str | None


def recent_comments(limit: int, thread_id: int | None = None) -> list[RecentRow]:
    """The newest approved comments, newest first: the site's, or one thread's."""
    query = (
        Comment.select(*ROW_COLUMNS, Thread.uri, Thread.title)
        .join(Thread)
        .where(Comment.status == Status.APPROVED)
        .order_by(Comment.created.desc(), Comment.id.desc())
        .limit(limit)
    )
    if thread_id is not None:
        query = query.where(Comment.thread == thread_id)
    rows = []
    for row in query.tuples():
        comment = CommentRow(
            row[0],
            row[1],
            Status(row[2]),
            *row[3:7],
            _moment(row[7]),
            _moment(row[8]) if row[8] is not None else None,
            row[9],
            row[10],
            bool(row[11]),
            row[12] or "comment",
            row[13],
            row[14],
        )
        rows.append(RecentRow(comment, row[15], row[16]))
    return rows


def site_version() -> tuple[int, int, int]:
    """What changes with every change readers can see anywhere on the site: the number of
    threads, the newest thread's id and the sum of every thread's version (each visible change
    bumps one version; a thread deleted or merged lowers the count, a new one raises the id)."""
    sql = _compiled(
        "site_version",
        lambda: Thread.select(fn.COUNT(Thread.id), fn.MAX(Thread.id), fn.SUM(Thread.version)),
    )
    count, newest, total = database_proxy.execute_sql(sql).fetchone()
    return int(count or 0), int(newest or 0), int(total or 0)
