"""The Fediverse routes: WebFinger, NodeInfo, the account's actor, outbox, collections and
posts (``application/activity+json``), and its inbox (``POST /ap/inbox``, also the shared
inbox). Every route answers 404 ``fediverse_off`` until ``[fediverse] account`` is set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import bottle

from commentd.errors import UnsupportedMediaType
from commentd.services.fediverse.documents import ACTIVITY_JSON, NODEINFO
from commentd.services.fediverse.inbox import Inbox
from commentd.services.fediverse.reads import Documents
from commentd.services.fediverse.signatures import SignedRequest
from commentd.web import inputs
from commentd.web.serialize import dumps, web_url

ID = "<object_id:re:[0-9]{1,18}>"
JRD = "application/jrd+json"
ACCEPTED_TYPES = ("application/activity+json", "application/ld+json", "application/json")


def _answer(document: dict[str, Any], content_type: str = ACTIVITY_JSON) -> str:
    bottle.response.content_type = content_type
    bottle.response.set_header("Cache-Control", "public, max-age=60")
    bottle.response.set_header("Access-Control-Allow-Origin", "*")
    bottle.response.set_header("Vary", "Accept")
    return dumps(document)


def _wants_html(accept: str) -> bool:
    """Whether an ``Accept`` header is a browser's: HTML, and no JSON of any kind."""
    accept = accept.lower()
    return "text/html" in accept and "json" not in accept


def _target(environ: dict) -> str:
    """The request's path and query as the client sent them (what ``(request-target)``
    signs)."""
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    target = quote(path, safe="/:@!$&'()*+,;=-._~%")
    query = environ.get("QUERY_STRING")
    return f"{target}?{query}" if query else target


def _headers(environ: dict) -> dict[str, str]:
    found = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        found["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        found["content-length"] = environ["CONTENT_LENGTH"]
    return found


def register(app: bottle.Bottle, documents: Documents, inbox: Inbox, max_body: int) -> None:
    """Add the Fediverse routes to ``app``."""

    def get(path: str, content_type: str = ACTIVITY_JSON, page: bool = False) -> Callable:
        """A GET route answering ``read``'s document; with ``page``, a browser (asking for
        HTML, not JSON) is sent to the document's own web page (its ``url``) instead."""

        def wrap(read: Callable[..., dict[str, Any]]) -> Callable:
            def route(**ids: str) -> str:
                document = read(**{k: int(v) for k, v in ids.items()})
                if page and _wants_html(bottle.request.environ.get("HTTP_ACCEPT", "")):
                    target = web_url(document.get("url"))
                    if target:
                        bottle.response.set_header("Vary", "Accept")
                        bottle.redirect(target, 303)
                return _answer(document, content_type)

            app.route(path, "GET", route)
            return read

        return wrap

    @app.get("/.well-known/webfinger")
    def webfinger() -> str:
        resource = inputs.one(inputs.query(bottle.request.environ), "resource")
        return _answer(documents.webfinger(resource), JRD)

    get("/.well-known/nodeinfo", "application/json")(documents.nodeinfo_links)
    get("/nodeinfo/2.1", f'application/json; profile="{NODEINFO}#"')(documents.nodeinfo)
    get("/ap/actor", page=True)(documents.actor)
    get("/ap/outbox")(documents.outbox)
    get("/ap/followers")(documents.followers)
    get("/ap/following")(documents.following)
    get(f"/ap/posts/{ID}", page=True)(lambda object_id: documents.post(object_id))
    get(f"/ap/comments/{ID}", page=True)(lambda object_id: documents.comment(object_id))

    @app.post("/ap/inbox")
    def receive() -> dict[str, str]:
        environ = bottle.request.environ
        documents.require_on()  # 404 while the account is off
        kind = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if kind not in ACCEPTED_TYPES:
            raise UnsupportedMediaType(
                "An activity is sent as application/activity+json.", code="unsupported_media_type"
            )
        body = inputs.body_bytes(environ, max_body)
        request = SignedRequest("POST", _target(environ), _headers(environ), body)
        outcome = inbox.receive(request)
        bottle.response.status = 202
        bottle.response.set_header("Cache-Control", "no-store")
        return {"status": outcome}
