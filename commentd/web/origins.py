"""Which browser origins may write, and the CORS headers that let every page read the answer.

The rule: any page may read (threads, counts, feeds), so every public answer carries
``Access-Control-Allow-Origin: *``. Writes (POST, PUT, DELETE) from a browser are refused
with ``403 origin_not_allowed`` unless the page's origin is the server's own or listed in
``allowed_origins``; that refusal carries the CORS headers too (and preflights are answered
for every origin), so the embed on a page not allowed can read it and tell the blog owner
which setting to change. Requests without an ``Origin`` header (curl, servers) are not
browser cross-site requests and pass. No cookie is ever read by these routes, so a grant to
``*`` gives a page nothing it could not get with curl; and a ``*`` answer is the same for every
origin, so a proxy or CDN keeps one copy, with no ``Vary: Origin``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from commentd.config import Config
from commentd.errors import Forbidden

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Authorization, Idempotency-Key, If-None-Match"
EXPOSED_HEADERS = "ETag, Retry-After, Idempotent-Replayed"
PREFLIGHT_MAX_AGE = "86400"
PUBLIC_PATHS = ("/api/", "/html/", "/feed/", "/health")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(config: Config) -> frozenset[str]:
    """The origins of this server's own pages: its base URL, and loopback on its port."""
    port = config.server.port
    return frozenset(
        {origin_of(config.server.base_url), f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    )


def from_own_page(environ: dict, own: frozenset[str]) -> bool:
    """Whether a form post comes from a page of this server, or from no browser at all.

    The one rule for the admin page's forms and the mail-link buttons (``/moderate/``,
    ``/unsubscribe/``): ``Sec-Fetch-Site``, when a browser sends it, must be ``same-origin``
    or ``none``, whatever ``Origin`` says or leaves out; ``Origin``, when sent, must be one of
    ``own`` or the host the request names. Mail clients' one-click posts send neither.
    """
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = environ.get("HTTP_ORIGIN")
    if not origin or _own_null(environ):
        return True
    host = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
    return origin.lower() in own | {host.lower()}


def _own_null(environ: dict) -> bool:
    """A page of this server whose referrer policy is ``no-referrer`` (the mail-link pages):
    browsers send its forms' ``Origin`` as ``null``, and say ``Sec-Fetch-Site: same-origin``,
    which no page can forge."""
    return (
        environ.get("HTTP_ORIGIN") == "null" and environ.get("HTTP_SEC_FETCH_SITE") == "same-origin"
    )


class OriginPolicy:
    """The allowed origins of one configured server."""

    def __init__(self, config: Config):
        self.allowed = own_origins(config) | frozenset(config.server.allowed_origins)

    def allows(self, origin: str, environ: dict) -> bool:
        """Whether a page at ``origin`` may write to this server."""
        origin = origin.lower()
        if origin in self.allowed or _own_null(environ):
            return True
        host = environ.get("HTTP_HOST", "")
        return bool(host) and origin == f"{environ.get('wsgi.url_scheme', 'http')}://{host}".lower()

    def check(self, environ: dict) -> None:
        """Refuse a cross-site browser write from an origin not allowed."""
        origin = environ.get("HTTP_ORIGIN")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if origin and method in WRITE_METHODS and not self.allows(origin, environ):
            raise Forbidden(
                f"The origin {origin[:200]} may not post here; add it to allowed_origins"
                " in the [server] section of commentd.ini.",
                code="origin_not_allowed",
            )

    def may_write(self, environ: dict) -> bool:
        """Whether the page asking (its ``Origin``) may write; no ``Origin`` means yes."""
        origin = environ.get("HTTP_ORIGIN")
        return not origin or self.allows(origin, environ)

    def headers(self, environ: dict, preflight: bool = False) -> dict[str, str]:
        """The CORS response headers for this request: a grant to every origin, on the
        public paths only (the admin page and the mail links are for their own pages). Sent
        whether or not the request named an ``Origin``: a copy a proxy kept from a request
        without one must serve a browser's too."""
        if not environ.get("PATH_INFO", "").startswith(PUBLIC_PATHS):
            return {}
        headers = {"Access-Control-Allow-Origin": "*"}
        if preflight:
            headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return headers
