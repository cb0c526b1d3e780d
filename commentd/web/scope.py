"""Around every route: a database connection, the origin check, CORS headers, and the one
place where errors become JSON.

Every error body is ``{"error": {"code": ..., "message": ..., "field"?: ...}}``, whether it
comes from a service (a ``CommentdError``), from bottle itself (no such route, wrong method)
or from a bug (500, logged with its traceback; the client sees no details).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import bottle

from commentd.errors import CommentdError
from commentd.services import metrics
from commentd.storage.database import DatabaseUnavailable, is_read_only_error, kept_connection
from commentd.web.compression import joined_vary
from commentd.web.origins import OriginPolicy
from commentd.web.serialize import dumps

log = logging.getLogger("commentd.web")

BOTTLE_CODES = {
    400: ("bad_request", "The request is malformed."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not take that method."),
    413: ("payload_too_large", "The body is too large."),
    500: ("internal_error", "Something went wrong on the server; it has been logged."),
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
_SECURITY_ITEMS = tuple(SECURITY_HEADERS.items())


def security_headers(status: int) -> tuple[tuple[str, str], ...]:
    """The security headers of an API response with ``status``: none on a ``304``, which has
    no body (RFC 9110 15.4.5 asks a 304 for only the headers that update a stored response)."""
    return () if status == 304 else _SECURITY_ITEMS


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return {"error": body}


def _apply_error(exc: CommentdError) -> dict[str, Any]:
    bottle.response.status = exc.status
    for name, value in exc.headers.items():
        bottle.response.set_header(name, value)
    if exc.status == 401:
        bottle.response.set_header("WWW-Authenticate", 'Bearer realm="commentd"')
    return exc.to_dict()


def log_database_error(error: Exception) -> None:
    """Log a database error behind a 503: a write to a read-only database in one line (it is
    expected there, see docs/scaling.md), anything else with its traceback."""
    if is_read_only_error(error):
        log.warning("write refused: the database is read-only")
    else:
        log.exception("database error")


class RequestScope:
    """A bottle plugin that runs each route inside the request's scope."""

    name = "commentd_scope"
    api = 2

    def __init__(self, origins: OriginPolicy):
        self.origins = origins

    def apply(self, callback: Callable, route: bottle.Route) -> Callable:
        preflight = route.method == "OPTIONS"
        # a route for people rather than programs turns its error bodies into pages
        as_page: Callable[[dict[str, Any]], str] | None = route.config.get("commentd.error_page")

        @functools.wraps(callback)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            environ = bottle.request.environ
            try:
                self.origins.check(environ)
                with kept_connection():  # the thread's, kept for its next request
                    result = callback(*args, **kwargs)
            except CommentdError as exc:
                result = _apply_error(exc)
            except DatabaseUnavailable as exc:
                log_database_error(exc)
                metrics.DATABASE_ERRORS.inc()
                bottle.response.status = 503
                bottle.response.set_header("Retry-After", "1")
                result = error_body(
                    "unavailable", "The database is unavailable; try again shortly."
                )
            if as_page is not None and isinstance(result, dict) and "error" in result:
                result = as_page(result["error"])
                bottle.response.set_header("Content-Type", "text/html; charset=utf-8")
            for name, value in self.origins.headers(environ, preflight).items():
                if name == "Vary":
                    value = joined_vary(bottle.response.get_header("Vary"), value)
                bottle.response.set_header(name, value)
            for name, value in security_headers(bottle.response.status_code):
                bottle.response.set_header(name, value)
            return result

        return wrapper


def install_error_handler(app: bottle.Bottle, origins: OriginPolicy) -> None:
    """Make bottle's own errors (404, 405, 500, ...) JSON like every other error."""

    def handle(res: bottle.HTTPError) -> str:
        if res.status_code >= 500 and res.traceback:
            log.error("unhandled error\n%s", res.traceback)
        code, message = BOTTLE_CODES.get(
            res.status_code, (f"http_{res.status_code}", res.status_line)
        )
        res.set_header("Content-Type", "application/json")
        for name, value in {**origins.headers(bottle.request.environ), **SECURITY_HEADERS}.items():
            res.set_header(name, value)
        return dumps(error_body(code, message))

    app.default_error_handler = handle
