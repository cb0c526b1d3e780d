"""The site's newest approved comments, for the Atom feeds and ``GET /api/recent``.

A feed or a recent list depends on every thread it may show, so its cache key carries a
site-wide version (``storage.queries.site_version``: one aggregate over the threads table,
kept per process while the database's change signal reads the same, see ``Recall``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commentd.errors import ValidationError
from commentd.services import validation
from commentd.services.cache import Recall
from commentd.services.threads import RECALL_SECONDS, ThreadService, ThreadVersion
from commentd.storage.queries import RecentRow, recent_comments, site_version

RECENT_LIMIT, THREAD_LIMIT, MAX_LIMIT = 20, 50, 100


@dataclass(frozen=True)
class FeedQuery:
    """A validated feed read: one thread's (``uri``) or the site's (``uri`` None)."""

    uri: str | None
    limit: int


def limit_of(value: Any, default: int) -> int:
    """``limit`` as a thread read takes it: absent is ``default``, empty is refused."""
    if value == "":
        raise ValidationError(
            "limit is empty; leave it out for the default.", code="invalid_value", field="limit"
        )
    return validation.bounded_int(value, "limit", low=1, high=MAX_LIMIT, default=default)


class FeedService:
    """Reads the newest approved comments of the site or of one thread."""

    def __init__(self, threads: ThreadService):
        self.threads = threads
        self._site: Recall[tuple[int, int, int]] = Recall(1, 16, RECALL_SECONDS)

    @staticmethod
    def recent_query(limit: Any = None) -> FeedQuery:
        return FeedQuery(None, limit_of(limit, RECENT_LIMIT))

    @staticmethod
    def thread_query(uri: Any, limit: Any = None) -> FeedQuery:
        return FeedQuery(validation.uri(uri), limit_of(limit, THREAD_LIMIT))

    def site_version(self) -> tuple[int, int, int]:
        """Changes whenever anything readers can see changes anywhere on the site."""
        return self._site.get("site", site_version)

    def thread_version(self, uri: str) -> ThreadVersion:
        return self.threads.version_of(uri)

    def read(self, query: FeedQuery) -> list[RecentRow]:
        """The approved comments ``query`` asks for, newest first (none for an unknown uri)."""
        if query.uri is None:
            return recent_comments(query.limit)
        thread_id = self.threads.version_of(query.uri).thread_id
        return recent_comments(query.limit, thread_id) if thread_id else []
