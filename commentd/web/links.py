"""The pages behind links in mails: one-click moderation, confirmation and unsubscribe.

A GET only shows what the link would do, with a button: mail scanners and link previews
follow GETs, so a GET never changes anything. The button POSTs back to the same address,
and the signed token in the path is the only credential (no cookie, so no CSRF to guard
against). ``POST /unsubscribe/<token>`` with the body ``List-Unsubscribe=One-Click`` is the
RFC 8058 one-click unsubscribe mail programs send. Errors are HTML pages with the error's
status; the pages forbid framing, scripts and caching, and send no Referer (the path holds
the token).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bottle

from commentd.errors import CommentdError, Forbidden
from commentd.services.clients import AddressResolver
from commentd.services.links import LinkService, comment_is
from commentd.services.site import Site
from commentd.services.subscriptions import Subscriptions
from commentd.web import inputs
from commentd.web.origins import from_own_page, own_origins

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STYLE = (TEMPLATES / "links" / "style.tpl").read_text(encoding="utf-8").strip()
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=UTF-8",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
TOKEN = "<token:re:[A-Za-z0-9_.=-]{1,300}>"  # noqa: S105 - a route pattern
LABELS = {"approve": "Approve", "delete": "Delete", "spam": "Mark as spam"}
DONE = {"approve": "approved", "delete": "deleted", "spam": "marked as spam"}


def page(name: str, status: int = 200, **values: Any) -> bottle.HTTPResponse:
    """A rendered page with the links' security headers (and nothing else)."""
    body = bottle.template(f"links/{name}", template_lookup=[str(TEMPLATES)], style=STYLE, **values)
    return bottle.HTTPResponse(body, status=status, headers=PAGE_HEADERS)


def error_page(exc: CommentdError) -> bottle.HTTPResponse:
    titles = {
        "link_used": "Link already used",
        "link_expired": "Link expired",
        "invalid_link": "Link not valid",
    }
    return page(
        "error",
        exc.status,
        title=titles.get(exc.code, "Cannot do that"),
        message=exc.message,
        error_status=exc.status,
        code=exc.code,
    )


def _html(handler: Callable[..., bottle.HTTPResponse]) -> Callable[..., bottle.HTTPResponse]:
    """Errors of a page become HTML pages, not the API's JSON."""

    def wrapper(**kwargs: Any) -> bottle.HTTPResponse:
        try:
            return handler(**kwargs)
        except CommentdError as exc:
            return error_page(exc)

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


def register(app: bottle.Bottle, site: Site) -> None:
    """Add the mail-link routes to ``app``."""
    links = LinkService(site.config, site.keys, site.moderation())
    subscriptions = Subscriptions(site.config, site.keys)
    addresses = AddressResolver(site.config.server.trusted_proxies)

    def moderation_page(pending: Any, done: str | None) -> bottle.HTTPResponse:
        comment = pending.comment
        thread = comment.thread
        action = pending.link.action
        return page(
            "moderate",
            title=done or f"{LABELS[action]} comment {comment.id}?",
            comment_id=comment.id,
            author=comment.author or "Anonymous",
            where=thread.title or thread.uri,
            comment_status=comment.status.value,
            text=comment.text or "(erased)",
            label=LABELS[action],
            done=done,
        )

    @app.get(f"/moderate/{TOKEN}")
    @_html
    def show_moderation(token: str) -> bottle.HTTPResponse:
        pending = links.inspect(token)
        already = comment_is(pending.comment, pending.link.action)
        done = f"This comment is already {DONE[pending.link.action]}." if already else None
        return moderation_page(pending, done)

    own = own_origins(site.config)

    def from_a_page_of_ours() -> None:
        if not from_own_page(bottle.request.environ, own):
            raise Forbidden("Links are acted on only from this server's own page.")

    @app.post(f"/moderate/{TOKEN}")
    @_html
    def moderate(token: str) -> bottle.HTTPResponse:
        from_a_page_of_ours()
        client = inputs.client(bottle.request.environ, addresses)
        pending = links.use(token, client.network)
        done = f"Comment {pending.comment.id} {DONE[pending.link.action]}."
        return moderation_page(pending, done)

    @app.get(f"/confirm/{TOKEN}")
    @_html
    def show_confirmation(token: str) -> bottle.HTTPResponse:
        found = subscriptions.confirmation(token)
        done = found.confirmed is not None
        return page("confirm", title="Confirmed" if done else "Confirm notifications", done=done)

    @app.post(f"/confirm/{TOKEN}")
    @_html
    def confirm(token: str) -> bottle.HTTPResponse:
        from_a_page_of_ours()
        subscriptions.confirm(token)
        return page("confirm", title="Confirmed", done=True)

    @app.get(f"/unsubscribe/{TOKEN}")
    @_html
    def show_unsubscribe(token: str) -> bottle.HTTPResponse:
        found = links.unsubscription(token)
        where = found.thread.title or found.thread.uri
        return page("unsubscribe", title="Notifications", where=where, done=False)

    @app.post(f"/unsubscribe/{TOKEN}")
    @_html
    def unsubscribe(token: str) -> bottle.HTTPResponse:
        # The button and RFC 8058 one-click (body List-Unsubscribe=One-Click) do the same.
        from_a_page_of_ours()
        found = links.unsubscribe(token)
        where = found.thread.title or found.thread.uri
        return page("unsubscribe", title="Unsubscribed", where=where, done=True)
