"""The web admin page under /admin: server-rendered HTML that works without JavaScript.

Every admin route runs in :class:`AdminScope` instead of the API's scope: errors become HTML
pages with their status, writes are taken only from the server's own origin, and every
response carries a strict CSP and ``Cache-Control: no-store``. Each handler: check the
session (and, for a POST, the CSRF token), call one service, render or redirect (303).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import bottle

from commentd.errors import (
    BadRequest,
    CommentdError,
    Conflict,
    Forbidden,
    TooManyRequests,
    Unauthorized,
)
from commentd.services import admin_auth, audit, bans, catches, outbox
from commentd.services import filter as spam_filter
from commentd.services.admin_auth import AdminAuth, Session
from commentd.services.clients import AddressResolver, Client
from commentd.services.guard import RateLimiter
from commentd.services.moderation import QUEUE_STATUSES, commenter
from commentd.services.site import Site
from commentd.services.validation import whole_number
from commentd.storage.database import DatabaseUnavailable, kept_connection
from commentd.web import inputs
from commentd.web.assets import Assets
from commentd.web.origins import from_own_page, own_origins
from commentd.web.scope import RequestScope, log_database_error

log = logging.getLogger("commentd.web.admin")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "admin"
STATIC = Path(__file__).resolve().parent.parent / "static" / "admin"
SESSION_COOKIE = "commentd_admin"
LOGIN_COOKIE = "commentd_admin_login"
PAGE_SIZE = 50
THREADS_PAGE_SIZE = 100
SPAM_PERIODS = (1, 7, 30, 90)
ID = "<comment_id:re:[0-9]{1,18}>"
MESSAGE_ID = "<message_id:re:[0-9]{1,18}>"
BAN_ID = "<ban_id:re:[0-9]{1,18}>"
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
NOTICES = {
    "approve": "Approved {n} comment(s).",
    "delete": "Deleted {n} comment(s).",
    "spam": "Marked {n} comment(s) as spam.",
    "edit": "Saved the comment.",
    "pin": "Pinned the comment.",
    "unpin": "Unpinned the comment.",
    "lock": "Locked the thread.",
    "unlock": "Unlocked the thread.",
    "retry": "The message will be sent again.",
    "ban": "Added the ban.",
    "unban": "Lifted the ban.",
    "ban_email": "Banned the comment's email.",
    "ban_network": "Banned the comment's network.",
}
COMMENTER_KEYS = ("email", "network")
BAN_KINDS = (
    ("email", "Email or @domain"),
    ("ip", "Network (IP address or CIDR)"),
    ("word", "Word or phrase"),
    ("domain", "Domain (Webmentions and Fediverse instances on it and its subdomains)"),
)
BOTTLE_MESSAGES = {
    400: "The request is malformed.",
    403: "This file cannot be read.",
    404: "There is no admin page at this address.",
    405: "This address does not take that method.",
    413: "The form is too large.",
    416: "That range of the file cannot be sent.",
    500: "Something went wrong on the server; it has been logged.",
}
BULK_ACTIONS = {"approve": "approve", "delete": "delete", "spam": "mark_spam"}

_templates: dict[str, bottle.SimpleTemplate] = {}


def render(name: str, **values: Any) -> str:
    """Render ``templates/admin/<name>.tpl``; ``{{ }}`` escapes, only ``{{! }}`` does not."""
    if name not in _templates:
        _templates[name] = bottle.SimpleTemplate(name=name, lookup=[str(TEMPLATES)])
    values.setdefault("csrf", None)
    values.setdefault("nav", None)
    values.setdefault("notice", None)
    values.setdefault("when", _when)
    values.setdefault("query", lambda **params: urlencode(params))
    return _templates[name].render(**values)


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> str:
    """An HTML error page with ``status`` set on the response."""
    bottle.response.status = status
    for name, value in (headers or {}).items():
        bottle.response.set_header(name, value)
    return render("error", title=bottle.HTTP_CODES.get(status, "Error"), message=message)


def is_admin_path(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


class AdminScope:
    """The admin routes' plugin: same-origin writes, a connection, HTML errors, headers."""

    name = "commentd_admin_scope"
    api = 2

    def __init__(self, own_origins: frozenset[str]):
        self.own_origins = own_origins

    def apply(self, callback: Callable, route: bottle.Route) -> Callable:
        @functools.wraps(callback)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            environ = bottle.request.environ
            try:
                post = environ.get("REQUEST_METHOD") == "POST"
                if post and not from_own_page(environ, self.own_origins):
                    raise Forbidden("Admin forms are taken only from this server's own pages.")
                with kept_connection():  # the thread's, kept for its next request
                    result = callback(*args, **kwargs)
            except CommentdError as exc:
                result = error_page(exc.status, exc.message, exc.headers)
            except DatabaseUnavailable as exc:
                log_database_error(exc)
                result = error_page(503, "The database is unavailable; try again shortly.")
                bottle.response.set_header("Retry-After", "1")
            target = result if isinstance(result, bottle.HTTPResponse) else bottle.response
            for name, value in HEADERS.items():
                target.set_header(name, value)
            if isinstance(result, str):
                target.set_header("Content-Type", "text/html; charset=utf-8")
            return result

        return wrapper


def _ids(values: list[str]) -> list[int]:
    """The checked comments' ids; the service checks their number and range."""
    ids = [whole_number(value) for value in values]
    if None in ids:
        raise BadRequest("Comment ids are whole numbers.", code="bad_request")
    return ids


def _page_number(raw: str | None) -> int:
    return (whole_number(raw, max_digits=6) if raw else None) or 1


def _paged(
    params: dict[str, list[str]], fetch: Callable[[int, int], list], size: int | None = None
) -> dict[str, Any]:
    """One page of a list for a template: its ``rows``, page ``number`` and whether there
    is ``more``; ``fetch(limit, offset)`` reads one row past the page to tell."""
    size = size or PAGE_SIZE
    number = _page_number(inputs.one(params, "page"))
    rows = fetch(size + 1, (number - 1) * size)
    return {"rows": rows[:size], "number": number, "more": len(rows) > size}


def _notice(params: dict[str, list[str]]) -> str | None:
    template = NOTICES.get(inputs.one(params, "done") or "")
    count = whole_number(inputs.one(params, "n") or "1", max_digits=6)
    return template.format(n=1 if count is None else count) if template else None


def _back(form: dict[str, list[str]], comment_id: int | None = None, **done: Any) -> str:
    """A 303 to the list a moderation form came from: a commenter's comments, one comment
    (``back=comment``), or the queue with its filters."""
    for key in COMMENTER_KEYS:
        if inputs.one(form, key):
            return _see_other(
                f"/admin/commenter/{key}",
                **{key: inputs.one(form, key)},
                status=inputs.one(form, "status"),
                page=inputs.one(form, "page"),
                **done,
            )
    if comment_id is not None and inputs.one(form, "back") == "comment":
        return _see_other(f"/admin/comments/{comment_id}", **done)
    return _see_other(
        "/admin",
        status=inputs.one(form, "status"),
        thread=inputs.one(form, "thread"),
        q=inputs.one(form, "q"),
        page=inputs.one(form, "page"),
        **done,
    )


def _banned(lists: bans.BanLists) -> Callable[[Any], tuple[bool, bool]]:
    """For the templates: whether a comment's email and its network are banned already."""
    coverage = bans.Coverage(lists)
    return lambda c: (coverage.email(c.email), coverage.network(c.remote_addr))


def _see_other(path: str, **query: Any) -> str:
    """A 303 to an admin page; ``query`` is rebuilt here, so no redirect can leave /admin."""
    kept = {key: value for key, value in query.items() if value not in (None, "")}
    bottle.response.status = 303
    bottle.response.set_header("Location", path + (f"?{urlencode(kept)}" if kept else ""))
    return ""


def register(
    app: bottle.Bottle, site: Site, limiter: RateLimiter, addresses: AddressResolver
) -> None:
    """Add the admin routes to ``app``, and make its errors under /admin HTML."""
    config = site.config
    limit = config.server.max_body_size
    secure = config.public_url.lower().startswith("https://")
    auth = AdminAuth(site.keys.admin_session, config.admin.session_lifetime, limiter)
    scope = AdminScope(own_origins(config))

    def route(path: str, method: str = "GET") -> Callable[[Callable], Callable]:
        return app.route(path, method=method, apply=[scope], skip=[RequestScope])

    def environ() -> dict:
        return bottle.request.environ

    def client() -> Client:
        return inputs.client(environ(), addresses)

    def set_cookie(name: str, value: str, max_age: int) -> None:
        bottle.response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=secure,
        )

    def clear_cookie(name: str) -> None:
        bottle.response.set_cookie(
            name, "", max_age=0, path="/admin", httponly=True, samesite="strict", secure=secure
        )

    def current() -> Session | None:
        return auth.session(bottle.request.get_cookie(SESSION_COOKIE))

    def login_page(status: int = 200, message: str | None = None) -> str:
        """The sign-in form; its CSRF token is bound to a random nonce in a cookie."""
        if not admin_auth.password_is_set():
            return render("setup", title="Set a password")
        nonce = bottle.request.get_cookie(LOGIN_COOKIE) or ""
        if not nonce.startswith("login-") or len(nonce) > 64:
            nonce = auth.login_nonce()
            set_cookie(LOGIN_COOKIE, nonce, admin_auth.LOGIN_NONCE_LIFETIME)
        bottle.response.status = status
        return render(
            "login", title="Sign in", csrf=auth.csrf_token(nonce), message=message, nav=None
        )

    def signed_in_get(handler: Callable[..., str]) -> Callable[..., str]:
        """A page for signed-in admins; others see the sign-in form (or the setup page)."""

        @functools.wraps(handler)
        def page(**kwargs: Any) -> str:
            session = current()
            if session is None:
                if bottle.request.path != "/admin":
                    return _see_other("/admin")
                return login_page()
            return handler(session, inputs.query(environ()), **kwargs)

        return page

    def signed_in_post(handler: Callable[..., str]) -> Callable[..., str]:
        """A form post: refused unless signed in and carrying the session's CSRF token."""

        @functools.wraps(handler)
        def post(**kwargs: Any) -> str:
            session = current()
            if session is None:
                raise Unauthorized("You are not signed in (or your session ended); sign in again.")
            form = inputs.form(environ(), limit)
            if not auth.check_csrf(session.id, inputs.one(form, "csrf")):
                raise Forbidden("The form's security token is missing or wrong; reload the page.")
            return handler(session, form, **kwargs)

        return post

    def page_values(session: Session, nav: str, params: dict[str, list[str]]) -> dict[str, Any]:
        return {"csrf": auth.csrf_token(session.id), "nav": nav, "notice": _notice(params)}

    # -- signing in and out -------------------------------------------------------------

    @route("/admin/login", "POST")
    def login() -> str:
        if not admin_auth.password_is_set():  # nobody can sign in yet: say how to set one
            bottle.response.status = 401
            return render("setup", title="Set a password")
        form = inputs.form(environ(), limit)
        nonce = bottle.request.get_cookie(LOGIN_COOKIE) or ""
        if not nonce.startswith("login-") or not auth.check_csrf(nonce, inputs.one(form, "csrf")):
            raise Forbidden("The sign-in form expired or was not sent from this page; reload it.")
        try:
            cookie = auth.login(inputs.one(form, "password") or "", client())
        except TooManyRequests as exc:
            for name, value in exc.headers.items():
                bottle.response.set_header(name, value)
            return login_page(429, "Too many failed sign-ins from your network. " + exc.message)
        except Unauthorized:
            return login_page(401, "Wrong password.")
        set_cookie(SESSION_COOKIE, cookie, config.admin.session_lifetime)
        clear_cookie(LOGIN_COOKIE)
        return _see_other("/admin")

    @route("/admin/logout", "POST")
    @signed_in_post
    def logout(session: Session, form: dict[str, list[str]]) -> str:
        auth.logout(session, client())
        clear_cookie(SESSION_COOKIE)
        return _see_other("/admin")

    # -- the moderation queue -----------------------------------------------------------

    @route("/admin")
    @signed_in_get
    def queue(session: Session, params: dict[str, list[str]]) -> str:
        status = inputs.one(params, "status") or "pending"
        thread = (inputs.one(params, "thread") or "").strip()
        search = (inputs.one(params, "q") or "").strip()
        number = _page_number(inputs.one(params, "page"))
        moderation = site.moderation()
        found = moderation.queue(
            None if status == "all" else status,
            thread=thread or None,
            search=search or None,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
        filters = {"status": status, "thread": thread, "q": search}
        return render(
            "queue",
            title="Moderation queue",
            page=found,
            number=number,
            pages=max(1, -(-found.total // PAGE_SIZE)),
            counts=moderation.counts_by_status(),
            statuses=("all", *QUEUE_STATUSES),
            filters=filters,
            failed=outbox.counts()["failed"],
            banned=_banned(bans.lists()),
            link=lambda **changes: "/admin?" + urlencode({**filters, **changes}),
            **page_values(session, "queue", params),
        )

    def commenter_view(session: Session, params: dict[str, list[str]], key: str) -> str:
        """Every comment of one commenter (``key``: by email or by network), paged."""
        value = inputs.one(params, key)
        if value is None:
            raise BadRequest(f"Give the {key} whose comments to show.", code="bad_request")
        by = commenter(**{key: value})
        status = inputs.one(params, "status") or "all"
        number = _page_number(inputs.one(params, "page"))
        moderation = site.moderation()
        found = moderation.queue(
            None if status == "all" else status,
            by=by,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
        network = bans.network_of(by.network) if by.network else None
        who = {"email": by.email} if by.email else {"network": by.network}
        return render(
            "commenter",
            title=f"Comments by {by.email}" if by.email else f"Comments from {network}",
            by=by,
            network=network,
            page=found,
            number=number,
            pages=max(1, -(-found.total // PAGE_SIZE)),
            counts=moderation.counts_by_status(by),
            statuses=("all", *QUEUE_STATUSES),
            status=status,
            banned=_banned(bans.lists()),
            link=lambda **changes: (
                f"/admin/commenter/{key}?" + urlencode({**who, "status": status, **changes})
            ),
            **page_values(session, "queue", params),
        )

    @route("/admin/commenter/email")
    @signed_in_get
    def commenter_by_email(session: Session, params: dict[str, list[str]]) -> str:
        return commenter_view(session, params, "email")

    @route("/admin/commenter/network")
    @signed_in_get
    def commenter_by_network(session: Session, params: dict[str, list[str]]) -> str:
        return commenter_view(session, params, "network")

    @route("/admin/comments", "POST")
    @signed_in_post
    def bulk(session: Session, form: dict[str, list[str]]) -> str:
        action = inputs.one(form, "action") or ""
        if action not in BULK_ACTIONS:
            raise BadRequest("Choose approve, delete or spam.", code="bad_request")
        method = getattr(site.moderation(), BULK_ACTIONS[action])
        changed = method(_ids(form.get("ids", [])), auth.actor(client()))
        return _back(form, done=action, n=len(changed))

    @route(f"/admin/comments/{ID}/ban", "POST")
    @signed_in_post
    def ban_commenter(session: Session, form: dict[str, list[str]], comment_id: str) -> str:
        what = inputs.one(form, "what") or ""
        bans.ban_commenter(int(comment_id), what, auth.actor(client()))
        return _back(form, int(comment_id), done=f"ban_{what}")

    # -- one comment --------------------------------------------------------------------

    @route(f"/admin/comments/{ID}")
    @signed_in_get
    def comment(session: Session, params: dict[str, list[str]], comment_id: str) -> str:
        moderation = site.moderation()
        found = moderation.comment(int(comment_id))
        return render(
            "comment",
            title=f"Comment {found.id}",
            comment=found,
            reports=moderation.reports(found.id),
            values={"text": found.text, "author": found.author, "website": found.website},
            message=None,
            banned=_banned(bans.lists()),
            **page_values(session, "queue", params),
        )

    @route(f"/admin/comments/{ID}", "POST")
    @signed_in_post
    def edit(session: Session, form: dict[str, list[str]], comment_id: str) -> str:
        moderation = site.moderation()
        values = {name: inputs.one(form, name) or "" for name in ("text", "author", "website")}
        try:
            moderation.edit(int(comment_id), values, auth.actor(client()))
        except BadRequest as exc:  # show the form again, with what was typed
            bottle.response.status = exc.status
            found = moderation.comment(int(comment_id))
            return render(
                "comment",
                title=f"Comment {found.id}",
                comment=found,
                reports=moderation.reports(found.id),
                values=values,
                message=exc.message,
                banned=_banned(bans.lists()),
                **page_values(session, "queue", {}),
            )
        return _see_other(f"/admin/comments/{int(comment_id)}", done="edit")

    @route(f"/admin/comments/{ID}/pin", "POST")
    @signed_in_post
    def pin(session: Session, form: dict[str, list[str]], comment_id: str) -> str:
        pinned = inputs.one(form, "pinned") == "1"
        site.moderation().pin(int(comment_id), pinned, auth.actor(client()))
        return _see_other(f"/admin/comments/{int(comment_id)}", done="pin" if pinned else "unpin")

    # -- threads ------------------------------------------------------------------------

    @route("/admin/threads")
    @signed_in_get
    def threads(session: Session, params: dict[str, list[str]]) -> str:
        threads = site.moderation().threads
        return render(
            "threads",
            title="Threads",
            **_paged(params, threads, THREADS_PAGE_SIZE),
            link=lambda **changes: "/admin/threads?" + urlencode(changes),
            **page_values(session, "threads", params),
        )

    @route("/admin/threads/lock", "POST")
    @signed_in_post
    def lock(session: Session, form: dict[str, list[str]]) -> str:
        thread_id = whole_number(inputs.one(form, "thread") or "")
        if thread_id is None:
            raise BadRequest("Name the thread to lock or unlock.", code="bad_request")
        locked = inputs.one(form, "locked") == "1"
        site.moderation().lock(thread_id, locked, auth.actor(client()))
        return _see_other("/admin/threads", done="lock" if locked else "unlock")

    # -- bans ---------------------------------------------------------------------------

    def bans_page(
        session: Session,
        params: dict[str, list[str]],
        values: dict[str, str] | None = None,
        message: str | None = None,
    ) -> str:
        return render(
            "bans",
            title="Bans",
            **_paged(params, bans.all_bans),
            total=bans.count(),
            kinds=BAN_KINDS,
            values=values or {"kind": "email", "value": "", "reason": ""},
            message=message,
            link=lambda **changes: "/admin/bans?" + urlencode(changes),
            **page_values(session, "bans", params),
        )

    @route("/admin/bans")
    @signed_in_get
    def bans_list(session: Session, params: dict[str, list[str]]) -> str:
        return bans_page(session, params)

    @route("/admin/bans", "POST")
    @signed_in_post
    def add_ban(session: Session, form: dict[str, list[str]]) -> str:
        values = {name: inputs.one(form, name) or "" for name in ("kind", "value", "reason")}
        try:
            bans.add(values["kind"], values["value"], auth.actor(client()), values["reason"])
        except (BadRequest, Conflict) as exc:  # show the form again, with what was typed
            bottle.response.status = exc.status
            return bans_page(session, {}, values, exc.message)
        return _see_other("/admin/bans", done="ban")

    @route(f"/admin/bans/{BAN_ID}/remove", "POST")
    @signed_in_post
    def remove_ban(session: Session, form: dict[str, list[str]], ban_id: str) -> str:
        bans.remove_id(int(ban_id), auth.actor(client()))
        return _see_other("/admin/bans", done="unban")

    # -- the audit log ------------------------------------------------------------------

    @route("/admin/audit")
    @signed_in_get
    def audit_log(session: Session, params: dict[str, list[str]]) -> str:
        return render(
            "audit",
            title="Audit log",
            **_paged(params, audit.entries),
            detail=audit.detail_of,
            link=lambda **changes: "/admin/audit?" + urlencode(changes),
            **page_values(session, "audit", params),
        )

    # -- the mail outbox ----------------------------------------------------------------

    @route("/admin/outbox")
    @signed_in_get
    def outbox_page(session: Session, params: dict[str, list[str]]) -> str:
        status = inputs.one(params, "status") or ""
        return render(
            "outbox",
            title="Outbox",
            **_paged(params, lambda limit, offset: outbox.messages(status or None, limit, offset)),
            counts=outbox.counts(),
            status=status,
            link=lambda **changes: "/admin/outbox?" + urlencode({"status": status, **changes}),
            **page_values(session, "outbox", params),
        )

    @route(f"/admin/outbox/{MESSAGE_ID}/retry", "POST")
    @signed_in_post
    def retry(session: Session, form: dict[str, list[str]], message_id: str) -> str:
        outbox.retry(int(message_id), auth.actor(client()))
        return _see_other("/admin/outbox", done="retry")

    # -- spam statistics ----------------------------------------------------------------

    @route("/admin/spam")
    @signed_in_get
    def spam_page(session: Session, params: dict[str, list[str]]) -> str:
        days = whole_number(inputs.one(params, "days") or "30")
        if days is None or not 1 <= days <= catches.MAX_DAYS:
            raise BadRequest(
                f"days must be a whole number from 1 to {catches.MAX_DAYS}.", code="bad_request"
            )
        return render(
            "spam",
            title="Spam",
            report=catches.report(days),
            model=spam_filter.model_size(),
            periods=SPAM_PERIODS,
            **page_values(session, "spam", params),
        )

    # -- files and errors ---------------------------------------------------------------

    files = Assets(STATIC)

    @route("/admin/static/<filename:re:[A-Za-z0-9_-]+[.][a-z]+>")
    def static(filename: str) -> bottle.HTTPResponse:
        return files.response(filename)

    def html_errors(json_errors: Callable[[bottle.HTTPError], str]) -> Callable:
        def handle(res: bottle.HTTPError) -> str:
            """Errors bottle raises itself (no route, wrong method, a bug): HTML under /admin."""
            if not is_admin_path(bottle.request.path):
                return json_errors(res)
            if res.status_code >= 500 and res.traceback:
                log.error("unhandled error\n%s", res.traceback)
            for name, value in HEADERS.items():
                res.set_header(name, value)
            res.set_header("Content-Type", "text/html; charset=utf-8")
            message = BOTTLE_MESSAGES.get(res.status_code, "This request cannot be answered.")
            return render("error", title=res.status_line, message=message)

        return handle

    # bottle allows one default handler (the API's JSON one): admin pages hook in per status
    for status in BOTTLE_MESSAGES:
        previous = app.error_handler.get(status, app.default_error_handler)
        app.error_handler[status] = html_errors(previous)
