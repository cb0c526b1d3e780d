"""The hot reads answered before bottle: ``GET /api/comments``, ``GET /api/counts`` and the
same thread as HTML, ``GET /html/thread``.

Nearly every request a blog sends is one of these, and most of them end in a 304 or a
cached body. Routing, plugins and bottle's request and response objects cost several times
what the answer itself costs, so this WSGI middleware answers them directly, with the same
``ReadCache`` the bottle routes call and the same CORS and security headers the request scope
adds (``scope.security_headers``: none on a ``304``). Anything else, and
any read that fails (a bad query, a database error), goes on to bottle, which answers it as
always: errors are still turned into JSON in one place.

A read that needs the database opens the thread's connection when it first queries
(peewee's autoconnect) and leaves it open for the thread's next request; a ``304`` that
the thread's version answers from memory (see ``ThreadService.version_of``) touches no
connection at all. A database error closes the connection, so a dropped one is replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import bottle

from commentd.storage.database import CONNECTION_ERRORS, drop_connection
from commentd.web.caching import Answer, ReadCache
from commentd.web.compression import VARY
from commentd.web.origins import OriginPolicy
from commentd.web.scope import security_headers

STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}
FAST_PATHS = ("/api/comments", "/api/counts", "/html/thread")


class ReadFastPath:
    """WSGI middleware: the two hot GETs without bottle, everything else through ``wsgi``."""

    def __init__(
        self,
        wsgi: Callable,
        reads: ReadCache,
        origins: OriginPolicy,
        routes: dict[str, bottle.Route],
    ):
        self.wsgi = wsgi
        self.origins = origins
        self.routes = routes
        self.handlers: dict[str, Callable[[dict], Answer]] = {
            "/api/comments": reads.thread,
            "/api/counts": reads.counts_by_query,
            "/html/thread": reads.html_thread,
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        handler = self.handlers.get(path)
        if handler is None or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi(environ, start_response)
        try:
            answer = handler(environ)
        except Exception as error:  # bottle answers it again, and reports it, as JSON
            if isinstance(error, CONNECTION_ERRORS):
                drop_connection()
            return self.wsgi(environ, start_response)
        environ["bottle.route"] = self.routes[path]  # for the metrics and the access log
        cors = self.origins.headers(environ)
        headers = [*answer.headers, ("Vary", VARY), *cors.items(), *security_headers(answer.status)]
        if answer.status == 200:
            headers.append(("Content-Length", str(len(answer.body))))
        start_response(STATUS_LINES[answer.status], headers)
        return [answer.body]


def wrap(
    app: bottle.Bottle, reads: ReadCache, origins: OriginPolicy, wsgi: Callable | None = None
) -> ReadFastPath:
    """``wsgi`` (by default ``app``'s own WSGI callable) behind the fast path (bottle lets
    ``app.wsgi`` be set once)."""
    routes = {
        route.rule: route
        for route in app.routes
        if route.method == "GET" and route.rule in FAST_PATHS
    }
    return ReadFastPath(wsgi or app.wsgi, reads, origins, routes)
