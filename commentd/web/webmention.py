"""``POST /webmention`` (the site's Webmention endpoint) and each Webmention's status URL."""

from __future__ import annotations

from typing import Any

import bottle

from commentd.services.guard import RateLimiter
from commentd.services.webmention import Receiver
from commentd.storage.models import Webmention
from commentd.web import inputs
from commentd.web.api import Services
from commentd.web.serialize import timestamp

ID_PATTERN = "<webmention_id:re:[0-9]{1,18}>"


def register(
    app: bottle.Bottle, services: Services, receiver: Receiver, limiter: RateLimiter
) -> None:
    """Add the Webmention routes to ``app``."""
    config = services.config

    def status_url(found: Webmention) -> str:
        return f"{config.public_url}/webmention/{found.id}?token={receiver.token(found.id)}"

    @app.post("/webmention")
    def receive() -> dict[str, Any]:
        environ = bottle.request.environ
        form = inputs.form(environ, config.server.max_body_size)
        limiter.hit("webmention", inputs.client(environ, services.addresses))
        found = receiver.receive(inputs.one(form, "source"), inputs.one(form, "target"))
        url = status_url(found)
        bottle.response.status = 202
        bottle.response.set_header("Location", url)
        bottle.response.set_header("Cache-Control", "no-store")
        return {"id": found.id, "status": found.status, "status_url": url}

    @app.get(f"/webmention/{ID_PATTERN}")
    def status(webmention_id: str) -> dict[str, Any]:
        token = inputs.one(inputs.query(bottle.request.environ), "token")
        found = receiver.status(int(webmention_id), token)
        bottle.response.set_header("Cache-Control", "no-store")
        return {
            "id": found.id,
            "source": found.source,
            "target": found.target,
            "status": found.status,
            "type": found.kind,
            "error": found.error,
            "received": timestamp(found.received),
            "verified": timestamp(found.verified),
        }
