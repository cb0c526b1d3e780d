"""Reading threads: the nested tree of visible comments, paged by cursor, and counts.

A thread is read with one query for the thread, one for its comments and one for its
Webmention likes, reposts and bookmarks (``reactions``); the tree is built in memory.
Approved comments are shown; a deleted comment stays as an empty placeholder while it has
visible replies; pending and spam comments are never shown here. Top-level comments
are sorted and paged; replies always read oldest first, like a conversation.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from peewee import fn

from commentd.config import Config
from commentd.errors import ValidationError
from commentd.services import validation
from commentd.services.cache import MEMO_ENTRIES, MEMO_KEY_SIZE, Recall
from commentd.storage.models import Comment, Status, Thread, utcnow
from commentd.storage.queries import (
    CommentRow,
    Reactor,
    ThreadState,
    thread_comments,
    thread_reactions,
    thread_state,
    thread_versions,
)

SORTS = ("oldest", "newest", "top")
MAX_COUNT_URIS = 200
# Thread versions are kept per process until the database changes (see ``Recall``), for at
# most a second.
RECALL_SECONDS = 1.0
#: The statuses a thread page reads: approved comments, and deleted ones as placeholders.
SHOWN = (Status.APPROVED, Status.DELETED)
#: A comment on a page: a model instance, or the plain row a page read gives.
PageComment = Comment | CommentRow


@dataclass
class Node:
    """A comment and the replies shown under it."""

    comment: PageComment
    replies: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class ThreadPage:
    """One page of a thread: its metadata, top-level comments with replies, the next cursor."""

    uri: str
    title: str | None
    locked: bool
    total: int
    version: int
    comments: list[Node]
    cursor: str | None
    sort: str
    thread_id: int = 0
    #: the thread's verified likes, reposts and bookmarks: the newest few people of each kind,
    #: each row with its kind's exact count (``queries.thread_reactions``)
    reactions: tuple[Reactor, ...] = ()


@dataclass(frozen=True)
class PageQuery:
    """A validated thread read: which page of which thread."""

    uri: str
    sort: str
    limit: int
    cursor: str | None


@dataclass(frozen=True)
class ThreadVersion:
    """What a thread page depends on besides its comments, from one small indexed query.

    ``version`` counts every change readers can see (a title set later included); ``closed``
    can change with time alone (``lock_after``), so it is here too. An unknown thread is
    ``thread_id`` 0, version 0.
    """

    thread_id: int
    version: int
    closed: bool


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


_EPOCH = dt.datetime(1970, 1, 1)


def _root_key(sort: str, comment: PageComment) -> list[int]:
    """What top-level comments are ordered by, ascending: pinned ones first, then the sort."""
    rank = 0 if comment.pinned else 1
    created = _micros(comment.created)
    if sort == "top":
        return [rank, comment.dislikes - comment.likes, created, comment.id]
    if sort == "newest":
        return [rank, -created, -comment.id]
    return [rank, created, comment.id]


def _encode_cursor(sort: str, key: list[Any]) -> str:
    raw = json.dumps([sort, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    invalid = ValidationError(
        "cursor is not one this server gave for this sort.", code="invalid_value", field="cursor"
    )
    if len(cursor) > 400:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise invalid from exc
    expected = [int] * (4 if sort == "top" else 3)
    if (
        not isinstance(decoded, list)
        or decoded[:1] != [sort]
        or [type(part) for part in decoded[1:]] != expected
    ):
        raise invalid
    return decoded[1:]


class ThreadService:
    """Read-side queries over threads."""

    def __init__(self, config: Config, clock: Callable[[], dt.datetime] = utcnow):
        self.config = config
        self.clock = clock
        self._states: Recall[ThreadState | None] = Recall(
            MEMO_ENTRIES, MEMO_KEY_SIZE, RECALL_SECONDS
        )
        self._versions: Recall[tuple[tuple[str, int, int], ...]] = Recall(
            MEMO_ENTRIES, MEMO_KEY_SIZE, RECALL_SECONDS
        )

    def query(
        self,
        uri: Any,
        sort: Any = None,
        limit: Any = None,
        cursor: Any = None,
    ) -> PageQuery:
        """Validate a thread read without reading anything. An absent ``sort`` or ``limit`` is
        the default; one given must be valid, and empty (``?sort=``) is not."""
        settings = self.config.comments
        uri = validation.uri(uri)
        for name, value in (("sort", sort), ("limit", limit)):
            if value == "":
                raise ValidationError(
                    f"{name} is empty; leave it out for the default.",
                    code="invalid_value",
                    field=name,
                )
        sort = validation.choice(sort, "sort", SORTS, "oldest")
        limit = validation.bounded_int(
            limit, "limit", low=1, high=settings.max_page_size, default=settings.page_size
        )
        if cursor:
            _decode_cursor(cursor, sort)
        return PageQuery(uri, sort, limit, cursor or None)

    def version_of(self, uri: str) -> ThreadVersion:
        """The version of the thread at ``uri`` (a validated uri): one indexed lookup, or none
        while nothing was committed since the last (see ``Recall``)."""
        row = self._states.get(uri, lambda: thread_state(uri))
        if row is None:
            return ThreadVersion(0, 0, False)
        closed = thread_closed(row, self.config, self.clock)
        return ThreadVersion(row.id, row.version, closed)

    def versions(self, wanted: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
        """``(uri, thread id, version)`` of the threads among ``wanted`` (from ``count_uris``)
        that exist, sorted, from one query (or none, as ``version_of``)."""
        return self._versions.get(wanted, lambda: tuple(sorted(thread_versions(wanted))))

    def page(
        self,
        uri: Any,
        sort: Any = None,
        limit: Any = None,
        cursor: Any = None,
    ) -> ThreadPage:
        """The visible comments of ``uri``; an unknown uri is an empty thread."""
        return self.read(self.query(uri, sort, limit, cursor))

    def read(self, query: PageQuery) -> ThreadPage:
        """The page ``query`` asks for (see ``page``)."""
        settings = self.config.comments
        uri, sort, limit, cursor = query.uri, query.sort, query.limit, query.cursor
        after = _decode_cursor(cursor, sort) if cursor else None
        thread = thread_state(uri)
        if thread is None:
            return ThreadPage(uri, None, False, 0, 0, [], None, sort)
        rows = thread_comments(thread.id, SHOWN)
        roots = build_tree(rows, settings.max_depth)
        total = sum(1 for row in rows if row.status == Status.APPROVED)
        keyed = sorted(((_root_key(sort, n.comment), n) for n in roots), key=lambda kn: kn[0])
        if after is not None:
            keyed = [kn for kn in keyed if kn[0] > after]
        shown = keyed[:limit]
        next_cursor = _encode_cursor(sort, shown[-1][0]) if len(keyed) > limit else None
        return ThreadPage(
            uri=uri,
            title=thread.title,
            locked=thread_closed(thread, self.config, self.clock),
            total=total,
            version=thread.version,
            comments=[node for _, node in shown],
            cursor=next_cursor,
            sort=sort,
            thread_id=thread.id,
            reactions=tuple(thread_reactions(thread.id)),
        )

    def counts(self, uris: Iterable[Any], field: str = "uri") -> dict[str, int]:
        """Approved comments per uri; unknown uris count 0. ``field`` names the input."""
        wanted = self.count_uris(uris, field)
        counts = dict.fromkeys(wanted, 0)
        if wanted:
            query = (
                Thread.select(Thread.uri, fn.COUNT(Comment.id))
                .join(Comment)
                .where(Thread.uri.in_(wanted) & (Comment.status == Status.APPROVED))
                .group_by(Thread.uri)
                .tuples()
            )
            counts.update(query)
        return counts

    @staticmethod
    def count_uris(uris: Iterable[Any], field: str = "uri") -> tuple[str, ...]:
        """The distinct uris of a counts request, validated (``field`` names the input)."""
        wanted = tuple(
            dict.fromkeys(
                validation.string(uri, field, max_length=validation.MAX_URI, required=True)
                for uri in uris
            )
        )
        if len(wanted) > MAX_COUNT_URIS:
            raise ValidationError(
                f"Ask for at most {MAX_COUNT_URIS} uris at once.", code="too_many", field=field
            )
        return wanted


def build_tree(rows: list[PageComment], max_depth: int) -> list[Node]:
    """Nest ``rows`` and return the top-level nodes, oldest first at every level.

    Deleted comments are kept only as placeholders for visible replies. A reply whose parent
    is not among ``rows`` (pending, spam) goes to the top level. Replies deeper than
    ``max_depth`` are shown at that depth, under their ancestor one level up; with
    ``max_depth`` 1 every comment is shown at the top level. Iterative, so a
    hostile chain of thousands of nested replies cannot exhaust the stack.
    """
    by_id = {row.id: row for row in rows}
    children: dict[int | None, list[PageComment]] = {}
    for row in rows:
        parent = row.parent_id if row.parent_id in by_id else None
        children.setdefault(parent, []).append(row)

    level: dict[int, int] = {}
    order: list[PageComment] = []
    queue = [(row, 1) for row in children.get(None, [])]
    while queue:
        row, depth = queue.pop()
        level[row.id] = depth
        order.append(row)
        queue.extend((child, depth + 1) for child in children.get(row.id, []))

    shown = {row.id for row in order if row.status == Status.APPROVED}
    for row in reversed(order):  # children come after their parents in ``order``
        if row.id in shown and row.parent_id in by_id:
            shown.add(row.parent_id)

    anchor_level = max_depth - 1
    nodes = {row.id: Node(row) for row in order if row.id in shown}
    home: dict[int, int] = {}  # a node's ancestor-or-self at anchor_level
    roots = []
    for row in order:
        if row.id not in shown:
            continue
        depth = level[row.id]
        if depth >= anchor_level > 0:
            home[row.id] = row.id if depth == anchor_level else home[row.parent_id]
        if depth == 1 or max_depth == 1:
            roots.append(nodes[row.id])
            continue
        too_deep = depth > max_depth
        parent_id = home[row.parent_id] if too_deep else row.parent_id
        nodes[parent_id].replies.append(nodes[row.id])
    for node in nodes.values():
        node.replies.sort(key=lambda n: (n.comment.created, n.comment.id))
    roots.sort(key=lambda n: (n.comment.created, n.comment.id))
    return roots


def thread_closed(
    thread: Thread | ThreadState, config: Config, clock: Callable[[], dt.datetime]
) -> bool:
    """Whether ``thread`` takes no new comments or votes: locked, or past ``lock_after``.

    A thread is created with its first comment, so its age is the age of that comment.
    ``clock`` is asked for the time only when the age matters.
    """
    if thread.locked:
        return True
    after = config.moderation.lock_after
    return bool(after) and thread.created + dt.timedelta(seconds=after) <= clock()
