"""Static files: the embed under ``/js/``, the demo page at ``/``, and ``/static/``.

Each is sent minified and gzipped where that applies (see ``commentd.web.assets``).

A file asked for with ``?v=<this commentd's version>`` (``/js/embed.js?v=1.2.0``) may be
cached for a year as immutable: the next release's script tag names another URL. Other URLs,
and other versions, are cached for an hour.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlencode

import bottle

from commentd.config import Config
from commentd.version import __version__
from commentd.web.assets import Assets
from commentd.web.caching import ReadCache
from commentd.web.scope import SECURITY_HEADERS

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
EMBED_DIR = STATIC_DIR / "js"
STATIC_MAX_AGE = 3600
VERSIONED_CACHE_CONTROL = "public, max-age=31536000, immutable"
FILENAME = "<filename:re:[A-Za-z0-9_-]+[.][a-z]+>"


DEMO_URI = "/demo/"
DEMO_SLOT = b"<!--commentd-thread-->"
ORIGIN_SLOT = b"<!--commentd-origin-->"
HOST_PATTERN = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def served_at(config: Config, environ: dict) -> str:
    """The origin the demo page was reached at, for the snippet it shows: ``server.public_url``
    when set, else the request's own scheme and host (a well-formed one only)."""
    if config.server.public_url:
        return config.public_url
    host = environ.get("HTTP_HOST", "")
    if not HOST_PATTERN.fullmatch(host):
        return config.public_url
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


def register(app: bottle.Bottle, config: Config, reads: ReadCache) -> None:
    """Serve the demo page, the embed's files and the files in ``commentd/static``."""
    files, embed_files, translations = (
        Assets(STATIC_DIR),
        Assets(EMBED_DIR),
        Assets(EMBED_DIR / "i18n"),
    )

    @app.get("/")
    def demo() -> bottle.HTTPResponse:
        """The demo post, its thread rendered into the page: it works without JavaScript."""
        page = files.get("demo.html")
        if page is None:
            return bottle.HTTPError(404, "File does not exist.")
        thread = reads.html_thread({"QUERY_STRING": urlencode({"uri": DEMO_URI})}).body
        origin = html.escape(served_at(config, bottle.request.environ)).encode()
        body = page.body.plain.replace(DEMO_SLOT, thread, 1).replace(ORIGIN_SLOT, origin, 1)
        headers = {"Content-Type": page.content_type, "Cache-Control": "no-cache"}
        return _secured(bottle.HTTPResponse(body, headers=headers))

    @app.get(f"/static/{FILENAME}")
    def static(filename: str) -> bottle.HTTPResponse:
        return _cached(files.response(filename))

    @app.get(f"/js/{FILENAME}")
    def embed(filename: str) -> bottle.HTTPResponse:
        return _public(_cached(embed_files.response(filename)))

    @app.get(f"/js/i18n/{FILENAME}")
    def translation(filename: str) -> bottle.HTTPResponse:
        return _public(_cached(translations.response(filename)))


def _cached(response: bottle.HTTPResponse) -> bottle.HTTPResponse:
    if response.status_code in (200, 206, 304):
        if bottle.request.query.get("v") == __version__:
            response.set_header("Cache-Control", VERSIONED_CACHE_CONTROL)
        else:
            response.set_header("Cache-Control", f"public, max-age={STATIC_MAX_AGE}")
    return _secured(response)


def _public(response: bottle.HTTPResponse) -> bottle.HTTPResponse:
    """The embed's files are loaded by blog pages on other origins (fetch, stylesheets)."""
    response.set_header("Access-Control-Allow-Origin", "*")
    return response


def _secured(response: bottle.HTTPResponse) -> bottle.HTTPResponse:
    """static_file builds its own response, so the scope's headers are set on it here."""
    for name, value in SECURITY_HEADERS.items():
        response.set_header(name, value)
    return response
