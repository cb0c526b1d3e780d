"""The site's newest comments: Atom feeds under ``/feed/`` and ``GET /api/recent``.

Answered like thread reads (``ReadCache.answer``): an ETag per version, ``304``, the shared
``Cache-Control``, gzip. A thread's feed is keyed by the thread's version, the site's by the
site-wide version (``FeedService.site_version``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bottle

from commentd.config import Config
from commentd.services import pages
from commentd.services.feeds import FeedQuery, FeedService
from commentd.services.i18n import language
from commentd.storage.queries import RecentRow
from commentd.web import atom, caching, inputs, serialize


def register(app: bottle.Bottle, config: Config, reads: caching.ReadCache) -> None:
    """Add ``/feed/thread.atom``, ``/feed/recent.atom`` and ``/api/recent`` to ``app``."""
    feeds = FeedService(reads.threads)
    present = reads.present
    links = (config.site.url, config.public_url)  # entries' links and the feeds' own

    def params() -> tuple[dict, dict[str, list[str]]]:
        environ = bottle.request.environ
        return environ, inputs.query(environ)

    def recent_item(row: RecentRow) -> dict[str, Any]:
        return {
            **present.comment(row.comment),
            "uri": row.uri,
            "title": row.title,
            "permalink": pages.permalink(config, row.uri, row.comment.id),
        }

    @app.get("/feed/thread.atom")
    def thread_feed() -> bytes:
        environ, query = params()
        wanted = feeds.thread_query(inputs.one(query, "uri"), inputs.one(query, "limit"))
        lang = language(inputs.one(query, "lang"))
        state = feeds.thread_version(wanted.uri)
        key = ("feed", wanted.uri, wanted.limit, lang, state.thread_id, state.version, links)
        return caching.respond(
            reads.answer(
                environ,
                key,
                ("feed", wanted.uri, wanted.limit, lang),
                lambda: atom.thread_feed(config, wanted.uri, feeds.read(wanted), lang),
                content_type=atom.CONTENT_TYPE,
            )
        )

    def site_wide(kind: str, render: Callable[[FeedQuery, str], bytes], content_type: str) -> bytes:
        """A read over the whole site, keyed by the site-wide version."""
        environ, query = params()
        wanted = feeds.recent_query(inputs.one(query, "limit"))
        lang = language(inputs.one(query, "lang"))
        return caching.respond(
            reads.answer(
                environ,
                (kind, wanted.limit, lang, feeds.site_version(), links),
                (kind, wanted.limit, lang),
                lambda: render(wanted, lang),
                content_type=content_type,
            )
        )

    @app.get("/feed/recent.atom")
    def recent_feed() -> bytes:
        return site_wide(
            "recent.atom",
            lambda wanted, lang: atom.recent_feed(config, feeds.read(wanted), lang),
            atom.CONTENT_TYPE,
        )

    @app.get("/api/recent")
    def recent() -> bytes:
        return site_wide(
            "recent",
            lambda wanted, _lang: serialize.dumps(
                {"comments": [recent_item(row) for row in feeds.read(wanted)]}
            ).encode(),
            caching.JSON,
        )
