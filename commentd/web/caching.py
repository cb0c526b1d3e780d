"""HTTP caching of thread reads and counts: ETags, ``If-None-Match``, ``Cache-Control``.

A thread page's ETag hashes the thread's version (bumped by every change readers can see)
with everything else its body depends on: the thread's id, whether it is closed
(threads also close by age, with no version bump), the query, and a per-process constant for
the code and the configuration that shape the JSON, so a deploy or a config change gives new
ETags. Processes with the same version, config and database give the same ETags, so any of
them can revalidate what another served. A counts ETag hashes the requested uris with their
threads' ids and versions.

A matching ``If-None-Match`` costs the version lookup only: ``304``, no body. Otherwise a
thread page comes from the per-process response cache when that has it, and is rendered and
stored there when not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import bottle

from commentd.config import Config
from commentd.services.cache import ResponseCache
from commentd.services.keys import Keys
from commentd.services.metrics import CACHE
from commentd.services.threads import PageQuery, ThreadService, ThreadVersion
from commentd.version import __version__
from commentd.web import serialize

CONDITIONAL_METHODS = frozenset({"GET", "HEAD"})
UNCACHED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cache_control(config: Config) -> str:
    """The ``Cache-Control`` of cacheable reads, from ``[cache]``."""
    settings = config.cache
    if settings.max_age <= 0 and settings.stale_while_revalidate <= 0:
        return "public, no-cache"
    value = f"public, max-age={settings.max_age}"
    if settings.stale_while_revalidate > 0:
        value += f", stale-while-revalidate={settings.stale_while_revalidate}"
    return value


def deploy_tag(config: Config, keys: Keys) -> str:
    """A constant of this code and the settings that shape read responses.

    The avatar key is in it (avatars are keyed hashes), hashed: nothing secret leaks.
    """
    parts = [
        __version__,
        repr(config.comments),
        str(config.moderation.lock_after),
        hashlib.sha256(keys.avatar).hexdigest(),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def entity_tag(*parts: Any) -> str:
    """A strong ETag: a hash of ``parts``, quoted."""
    raw = json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def none_match(header: str | None, tag: str) -> bool:
    """Whether ``If-None-Match: header`` matches ``tag``: False means "send it" (RFC 9110).

    ``*`` matches any current representation; a list matches if one member does, compared
    weakly (a ``W/`` prefix is ignored), as RFC 9110 asks for ``If-None-Match``.
    """
    if not header:
        return False
    opaque = tag.removeprefix("W/")
    for member in header.split(","):
        member = member.strip()
        if member == "*" or member.removeprefix("W/") == opaque:
            return True
    return False


def no_store_for_writes() -> None:
    """An ``after_request`` hook: API writes (and their errors) are never stored by caches."""
    request, response = bottle.request, bottle.response
    if (
        request.method in UNCACHED_METHODS
        and request.path.startswith("/api/")
        and "Cache-Control" not in response.headers
    ):
        response.set_header("Cache-Control", "no-store")


class ReadCache:
    """Answers thread reads and counts with ETags, 304s and the response cache."""

    def __init__(
        self,
        config: Config,
        keys: Keys,
        threads: ThreadService,
        present: serialize.Presenter,
        responses: ResponseCache,
    ):
        self.threads = threads
        self.present = present
        self.responses = responses
        self.deploy = deploy_tag(config, keys)
        self.cache_control = cache_control(config)

    def _tag(self, key: tuple) -> str:
        return entity_tag(self.deploy, *key)

    def _headers(self, key: tuple) -> None:
        bottle.response.set_header("ETag", self._tag(key))
        bottle.response.set_header("Cache-Control", self.cache_control)

    def _not_modified(self, key: tuple) -> bool:
        """Answer ``304`` (with the validators) if the request's ``If-None-Match`` matches."""
        environ = bottle.request.environ
        if environ.get("REQUEST_METHOD", "GET").upper() not in CONDITIONAL_METHODS:
            return False
        if not none_match(environ.get("HTTP_IF_NONE_MATCH"), self._tag(key)):
            return False
        bottle.response.status = 304
        self._headers(key)
        return True

    def _thread_key(self, query: PageQuery, state: ThreadVersion) -> tuple:
        return (
            "thread",
            query.uri,
            state.thread_id,
            state.version,
            state.closed,
            query.sort,
            query.limit,
            query.cursor,
        )

    def thread(self, uri: Any, sort: Any, limit: Any, cursor: Any) -> bytes:
        """The JSON of one thread page, or an empty ``304``."""
        query = self.threads.query(uri, sort, limit, cursor)
        state = self.threads.version_of(query.uri)
        key = self._thread_key(query, state)
        if self._not_modified(key):
            CACHE.inc({"result": "not_modified"})
            return b""
        body = self.responses.get(key)
        if body is not None:
            CACHE.inc({"result": "hit"})
        else:
            CACHE.inc({"result": "miss"})
            page = self.threads.read(query)
            body = serialize.dumps(self.present.thread_page(page)).encode()
            # The page may be newer than the lookup above: key and tag it by what it shows.
            # (The thread row is read before its comments, and a write bumps the version in
            # the same transaction, so a body is never older than the version it is kept under.)
            state = ThreadVersion(page.thread_id, page.version, page.locked)
            key = self._thread_key(query, state)
            self.responses.put(key, body)
        self._headers(key)
        bottle.response.content_type = "application/json"
        return body

    def counts(self, uris: Iterable[Any], field: str) -> dict[str, Any] | bytes:
        """``{"counts": ...}`` for ``uris``, or an empty ``304`` (GET and HEAD only)."""
        versions = self.threads.versions(uris, field)
        key = ("counts", *([uri, *pair] for uri, pair in versions.items()))
        if self._not_modified(key):
            return b""
        counts = self.threads.counts(list(versions), field=field)
        self._headers(key)
        return {"counts": counts}
