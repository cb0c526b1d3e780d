"""Static files and the demo page at ``/``."""

from __future__ import annotations

from pathlib import Path

import bottle

from commentd.web.scope import SECURITY_HEADERS

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_MAX_AGE = 3600


def register(app: bottle.Bottle) -> None:
    """Serve the demo page and the files in ``commentd/static``."""

    @app.get("/")
    def demo() -> bottle.HTTPResponse:
        return _secured(bottle.static_file("demo.html", root=str(STATIC_DIR), mimetype="text/html"))

    @app.get("/static/<filename:re:[A-Za-z0-9_.-]+>")
    def static(filename: str) -> bottle.HTTPResponse:
        response = bottle.static_file(filename, root=str(STATIC_DIR))
        if response.status_code == 200:
            response.set_header("Cache-Control", f"public, max-age={STATIC_MAX_AGE}")
        return _secured(response)


def _secured(response: bottle.HTTPResponse) -> bottle.HTTPResponse:
    """static_file builds its own response, so the scope's headers are set on it here."""
    for name, value in SECURITY_HEADERS.items():
        response.set_header(name, value)
    return response
