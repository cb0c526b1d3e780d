"""``GET /avatars/<digest>``: a remote author's picture, kept by commentd (services/avatars.py)
and served from its own origin, so that readers' browsers ask no other site."""

from __future__ import annotations

import bottle

from commentd.services import avatars

DIGEST = "<digest:re:[0-9a-f]{64}>"
HEADERS = {
    "Cache-Control": "public, max-age=604800",
    "X-Content-Type-Options": "nosniff",
    # an image, and nothing else: no script, no style, no frame, even opened on its own
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",  # shown in the embed on the blog's pages
}


def register(app: bottle.Bottle) -> None:
    """Add the route to ``app``."""

    @app.get(f"/avatars/{DIGEST}")
    def picture(digest: str) -> bottle.HTTPResponse:
        kind, data = avatars.picture(digest)
        return bottle.HTTPResponse(data, headers={**HEADERS, "Content-Type": kind})
