"""HTTP caching of thread reads and counts: ETags, ``If-None-Match``, ``Cache-Control``.

A thread page's ETag hashes the thread's version (bumped by every change readers can see)
with everything else its body depends on: the thread's id, whether it is closed
(threads also close by age, with no version bump), the query, and a per-process constant for
the code and the configuration that shape the JSON, so a deploy or a config change gives new
ETags. Processes with the same version, config and database give the same ETags, so any of
them can revalidate what another served. A counts ETag hashes the requested uris with their
threads' ids and versions.

A matching ``If-None-Match`` costs the version lookup only: ``304``, no body. Otherwise a
thread page or a counts body comes from the per-process response cache when that has it, and
is rendered and stored there when not. When many readers miss the same new version at once
(right after a comment), one renders it and the others wait for its result.

Each read is answered as an ``Answer`` (status, headers, body) that does not depend on
bottle, so the same code serves the bottle routes and ``commentd.web.fastpath``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import bottle

from commentd.config import Config
from commentd.services.cache import MEMO_ENTRIES, MEMO_KEY_SIZE, Memo, ResponseCache
from commentd.services.i18n import language
from commentd.services.keys import Keys
from commentd.services.metrics import CACHE
from commentd.services.threads import PageQuery, ThreadService
from commentd.version import __version__
from commentd.web import inputs, serialize
from commentd.web.compression import GZIP, VARY, Encoded, accepts_gzip, encode, gzip_tag
from commentd.web.fragment import FragmentRenderer

CONDITIONAL_METHODS = frozenset({"GET", "HEAD"})
UNCACHED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"
HTML = "text/html; charset=utf-8"
GZIPPED = ("Content-Encoding", GZIP)
# the labels of commentd_cache_total, built once (Counter.add takes them sorted)
HIT, MISS, NOT_MODIFIED = ((("result", result),) for result in ("hit", "miss", "not_modified"))


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


class Answer(NamedTuple):
    """A read's response: ``200`` with a JSON body (gzipped when the client takes it), or
    ``304`` with none. Every answer varies by ``Accept-Encoding``: whoever sends it adds the
    ``Vary`` field (``respond``, ``fastpath``)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def respond(answer: Answer) -> bytes:
    """Put ``answer`` on bottle's response and return its body."""
    bottle.response.status = answer.status
    for name, value in answer.headers:
        bottle.response.set_header(name, value)
    bottle.response.set_header("Vary", VARY)
    return answer.body


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
        self.fragments = FragmentRenderer(config)
        self.responses = responses
        self.deploy = deploy_tag(config, keys)
        self.cache_control = cache_control(config)
        # ETags and parsed query strings: computing one costs more than looking the version
        # up, and the same few are asked for again and again
        self._tags: Memo[tuple[str, str]] = Memo(MEMO_ENTRIES, MEMO_KEY_SIZE)
        self._thread_queries: Memo[PageQuery] = Memo(MEMO_ENTRIES, MEMO_KEY_SIZE)
        self._html_queries: Memo[tuple[PageQuery, str]] = Memo(MEMO_ENTRIES, MEMO_KEY_SIZE)
        self._count_queries: Memo[tuple[str, ...]] = Memo(MEMO_ENTRIES, MEMO_KEY_SIZE)
        self._flights: dict[Hashable, threading.Lock] = {}
        self._flights_lock = threading.Lock()

    def answer(
        self,
        environ: dict,
        key: tuple,
        family: tuple,
        render: Callable[[], bytes],
        content_type: str = JSON,
    ) -> Answer:
        """``304`` if ``If-None-Match`` matches ``key``'s tag, else the cached or rendered body
        (``family``: the key without the versions, see ``ResponseCache``).

        ``key`` must name everything the body depends on (a thread's version, the query, the
        kind of body: ``"thread"``, ``"counts"``, ...); the process's deploy tag is added.

        A client that takes gzip is answered with the gzip encoding and its own ETag; a body
        too small to compress is then sent plain under that ETag, which is still the one
        representation such clients get for this key.
        """
        plain_tag, packed_tag = self._tags.get(key, lambda: self._tag_pair(key))
        gzip_ok = accepts_gzip(environ)
        tag = packed_tag if gzip_ok else plain_tag
        validators = [("ETag", tag), ("Cache-Control", self.cache_control)]
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method in CONDITIONAL_METHODS and none_match(environ.get("HTTP_IF_NONE_MATCH"), tag):
            CACHE.add(NOT_MODIFIED)
            return Answer(304, validators, b"")
        body, gzipped = self._body(key, family, render).pick(gzip_ok)
        headers = [*validators, ("Content-Type", content_type)]
        if gzipped:
            headers.append(GZIPPED)
        return Answer(200, headers, body)

    def _tag_pair(self, key: tuple) -> tuple[str, str]:
        tag = entity_tag(self.deploy, *key)
        return tag, gzip_tag(tag)

    def _body(self, key: tuple, family: tuple, render: Callable[[], bytes]) -> Encoded:
        body = self.responses.get(key)
        if body is None:
            with self._flight(key):
                body = self.responses.get(key)  # rendered by the request we waited for?
                if body is None:
                    CACHE.add(MISS)
                    body = encode(render())
                    self.responses.put(key, body, family)
                    return body
        CACHE.add(HIT)
        return body

    @contextmanager
    def _flight(self, key: Hashable) -> Iterator[None]:
        """Let one request at a time render ``key``; the others then find it in the cache."""
        if not self.responses.enabled:
            yield
            return
        with self._flights_lock:
            lock = self._flights.setdefault(key, threading.Lock())
        try:
            with lock:
                yield
        finally:
            with self._flights_lock:
                if self._flights.get(key) is lock:
                    del self._flights[key]

    def thread(self, environ: dict) -> Answer:
        """One thread page, as ``GET /api/comments?uri=...[&sort&limit&cursor]`` asks."""
        raw = environ.get("QUERY_STRING", "")
        query = self._thread_queries.get(raw, lambda: self._thread_query(environ))
        return self._page(
            environ,
            ("thread",),
            query,
            lambda: serialize.dumps(self.present.thread_page(self.threads.read(query))).encode(),
        )

    def html_thread(self, environ: dict) -> Answer:
        """One thread page as an HTML fragment, as ``GET /html/thread?uri=...[&lang]`` asks."""
        raw = environ.get("QUERY_STRING", "")
        query, lang = self._html_queries.get(raw, lambda: self._html_query(environ))

        def render() -> bytes:
            # the JSON page's tag from a version no newer than what is read after it: a tag
            # never vouches for content the fragment lacks
            state = self.threads.version_of(query.uri)
            data = self.present.thread_page(self.threads.read(query))
            json_key = self._page_key(("thread",), query, state)
            json_tag = self._tags.get(json_key, lambda: self._tag_pair(json_key))[0]
            options = {"sort": query.sort, "limit": query.limit}
            return self.fragments.thread(data, options, lang, json_tag).encode()

        return self._page(environ, ("html", lang), query, render, HTML)

    def _page(
        self,
        environ: dict,
        kind: tuple,
        query: PageQuery,
        render: Callable[[], bytes],
        content_type: str = JSON,
    ) -> Answer:
        """A thread page in one of its shapes (``kind``), keyed by the thread's version."""
        state = self.threads.version_of(query.uri)
        page = (query.sort, query.limit, query.cursor)
        key = self._page_key(kind, query, state)
        # A comment written between the version lookup and the read shows in the page while
        # its key still names the version before it. Harmless: the next lookup sees the new
        # version, misses this entry and renders again; a body is never older than its key.
        return self.answer(environ, key, (*kind, query.uri, *page), render, content_type)

    @staticmethod
    def _page_key(kind: tuple, query: PageQuery, state: Any) -> tuple:
        page = (query.sort, query.limit, query.cursor)
        return (*kind, query.uri, state.thread_id, state.version, state.closed, *page)

    def _html_query(self, environ: dict) -> tuple[PageQuery, str]:
        return self._thread_query(environ), language(inputs.one(inputs.query(environ), "lang"))

    def _thread_query(self, environ: dict) -> PageQuery:
        params = inputs.query(environ)
        return self.threads.query(
            inputs.one(params, "uri"),
            sort=inputs.one(params, "sort"),
            limit=inputs.one(params, "limit"),
            cursor=inputs.one(params, "cursor"),
        )

    def counts_by_query(self, environ: dict) -> Answer:
        """Counts as ``GET /api/counts?uri=...&uri=...`` asks."""
        raw = environ.get("QUERY_STRING", "")
        wanted = self._count_queries.get(
            raw,
            lambda: self.threads.count_uris(inputs.query(environ).get("uri", []), "uri"),
        )
        return self._counts(environ, wanted, "uri")

    def counts(self, environ: dict, uris: Iterable[Any], field: str) -> Answer:
        """``{"counts": ...}`` for ``uris``, or an empty ``304`` (GET and HEAD only)."""
        return self._counts(environ, self.threads.count_uris(uris, field), field)

    def _counts(self, environ: dict, wanted: tuple[str, ...], field: str) -> Answer:
        # the uris asked for (those with no thread count 0) and the threads found among them
        key = ("counts", wanted, self.threads.versions(wanted))
        return self.answer(
            environ,
            key,
            ("counts", wanted),
            lambda: serialize.dumps({"counts": self.threads.counts(wanted, field=field)}).encode(),
        )
