"""The web admin page over real HTTP: signing in, sessions, CSRF, the login limit, every
moderation action as the public API then shows it, and the headers every admin page carries."""

from __future__ import annotations

import dataclasses
import re
import time
from html import unescape
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlencode

import pytest

from commentd.services import admin_auth, audit
from commentd.services.admin_auth import AdminAuth, Session
from commentd.services.audit import Actor
from commentd.services.guard import RateLimiter
from commentd.services.keys import Keys
from commentd.storage.database import connection
from commentd.storage.models import AuditEntry, Comment, OutboxMessage, Status

PASSWORD = "correct horse battery"
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclasses.dataclass
class Page:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    text: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def csrf(self) -> str | None:
        found = re.search(r'name="csrf" value="([^"]+)"', self.text)
        return found[1] if found else None


class AdminBrowser:
    """An HTTP client with a cookie jar that speaks HTML forms, as a browser without JS."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.jar: dict[str, str] = {}
        self.csrf: str | None = None

    def request(
        self, method: str, path: str, form: Any = None, headers: dict[str, str] | None = None
    ) -> Page:
        headers = dict(headers or {})
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        conn = HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            cookies = res.msg.get_all("Set-Cookie") or []
            page = Page(
                res.status,
                {k.lower(): v for k, v in res.getheaders()},
                cookies,
                res.read().decode("utf-8"),
            )
        finally:
            conn.close()
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in cookie.lower():
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        if page.csrf:
            self.csrf = page.csrf
        return page

    def get(self, path: str, **kwargs: Any) -> Page:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, Any], csrf: bool = True, **kwargs: Any) -> Page:
        if csrf:
            form = {"csrf": self.csrf, **form}
        return self.request("POST", path, form, **kwargs)

    def login(self, password: str = PASSWORD) -> Page:
        self.get("/admin")
        page = self.post("/admin/login", {"password": password})
        if page.status == 303:
            self.get("/admin")  # the session's forms and their token
        return page


@pytest.fixture
def admin_site(serve, make_app, make_config):
    """``admin_site(password=..., **settings)``: (API client, admin browser, config)."""

    def build(password: str | None = PASSWORD, **settings: Any):
        config = make_config(**{"moderation.mode": "all", **settings})
        client = serve(make_app(config))
        if password is not None:
            with connection():
                admin_auth.set_password(password, Actor("cli", "test"))
        return client, AdminBrowser(client.port), config

    return build


@pytest.fixture
def signed_in(admin_site):
    client, admin, config = admin_site()
    assert admin.login().status == 303
    return client, admin, config


def held(client, text: str = "hello", uri: str = "/post/", **fields: Any) -> int:
    res = client.post_comment(uri, text=text, **fields)
    assert res.json["comment"]["status"] == "pending"
    return res.json["comment"]["id"]


def public_ids(client, uri: str = "/post/") -> list[int]:
    return [node["id"] for node in client.thread(uri).json["comments"]]


def last_audit() -> AuditEntry:
    with connection():
        return audit.entries(limit=1)[0]


def audit_count() -> int:
    with connection():
        return AuditEntry.select().count()


def status_of(cid: int) -> Status:
    with connection():
        return Comment.get_by_id(cid).status


def signed_out(page: Page) -> bool:
    return 'name="password"' in page.text and "Moderation queue" not in page.text


# -- before a password is set -----------------------------------------------------------------


def test_without_a_password_the_page_says_how_to_set_one(admin_site):
    _, admin, _ = admin_site(password=None)
    page = admin.get("/admin")
    assert page.status == 200
    assert "commentd admin set-password" in page.text
    assert 'name="password"' not in page.text
    page = admin.request("POST", "/admin/login", {"password": ""})
    assert "commentd admin set-password" in page.text
    assert "commentd_admin=" not in " ".join(page.cookies)


# -- signing in -------------------------------------------------------------------------------


def test_signing_in_shows_the_queue_with_a_strict_session_cookie(admin_site):
    _, admin, config = admin_site()
    page = admin.get("/admin")
    assert signed_out(page)
    page = admin.post("/admin/login", {"password": PASSWORD})
    assert page.status == 303
    assert page.header("Location").endswith("/admin")
    session = next(c for c in page.cookies if c.startswith("commentd_admin="))
    attributes = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/admin"} <= attributes
    assert f"max-age={config.admin.session_lifetime}" in attributes
    assert "secure" not in attributes  # served over http here
    page = admin.get("/admin")
    assert page.status == 200
    assert "Moderation queue" in page.text
    assert "Sign out" in page.text


def test_the_cookie_is_secure_when_the_public_url_is_https(admin_site):
    _, admin, _ = admin_site(**{"server.public_url": "https://comments.example.com"})
    page = admin.login()
    session = next(c for c in page.cookies if c.startswith("commentd_admin="))
    assert "secure" in {part.strip().lower() for part in session.split(";")}


def test_a_wrong_password_is_refused(admin_site):
    _, admin, _ = admin_site()
    page = admin.login("wrong password!")
    assert page.status == 401
    assert "Wrong password." in page.text
    assert not any(c.startswith("commentd_admin=") for c in page.cookies)
    assert signed_out(admin.get("/admin"))


def test_failed_logins_are_limited_per_network_even_for_the_right_password(admin_site):
    _, admin, _ = admin_site(**{"admin.login_attempts": 3})
    for _ in range(3):
        assert admin.login("not the password").status == 401
    page = admin.login(PASSWORD)
    assert page.status == 429
    assert int(page.header("Retry-After")) > 0
    assert "Too many failed sign-ins" in page.text
    assert not any(c.startswith("commentd_admin=") for c in page.cookies)
    assert signed_out(admin.get("/admin"))


def test_a_right_password_does_not_count_against_the_limit(admin_site):
    _, admin, _ = admin_site(**{"admin.login_attempts": 2})
    for _ in range(4):
        admin.jar.clear()  # a fresh browser each time
        assert admin.login().status == 303


def test_the_login_form_needs_its_token(admin_site):
    _, admin, _ = admin_site()
    admin.get("/admin")
    page = admin.post("/admin/login", {"password": PASSWORD}, csrf=False)
    assert page.status == 403
    assert signed_out(admin.get("/admin"))


# -- sessions ---------------------------------------------------------------------------------


def forged(config, session_id: str = "abc", expires_in: int = 3600, secret: str | None = None):
    keys = Keys.from_secret(secret or config.security.secret)
    auth = AdminAuth(keys.admin_session, 60, RateLimiter(config))
    with connection():
        return auth.cookie(Session(session_id, int(time.time()) + expires_in))


def test_a_cookie_signed_with_the_site_key_works_and_every_forgery_fails(admin_site):
    _, admin, config = admin_site()
    good = forged(config)
    admin.jar["commentd_admin"] = good
    assert "Moderation queue" in admin.get("/admin").text  # the way cookies are made is right

    session_id, expires, gen, mac = good.split(".")
    bad = {
        "expired": forged(config, expires_in=-1),
        "other secret": forged(config, secret="x" * 40),
        "longer expiry": f"{session_id}.{int(expires) + 10_000}.{gen}.{mac}",
        "other id": f"other.{expires}.{gen}.{mac}",
        "bad mac": f"{session_id}.{expires}.{gen}.{mac[:-2]}AA",
        "garbage": "not-a-cookie",
    }
    for name, value in bad.items():
        admin.jar["commentd_admin"] = value
        assert signed_out(admin.get("/admin")), name


def test_setting_a_password_signs_out_every_session(signed_in):
    _, admin, _ = signed_in
    assert "Moderation queue" in admin.get("/admin").text
    with connection():
        admin_auth.set_password("another password!", Actor("cli", "test"))
    assert signed_out(admin.get("/admin"))


def test_signing_out_ends_the_session_even_for_a_kept_cookie(signed_in):
    _, admin, _ = signed_in
    kept = admin.jar["commentd_admin"]
    page = admin.post("/admin/logout", {})
    assert page.status == 303
    assert "commentd_admin" not in admin.jar
    admin.jar["commentd_admin"] = kept
    assert signed_out(admin.get("/admin"))
    assert last_audit().action == "logout"


def test_signed_out_posts_change_nothing(admin_site):
    client, admin, _ = admin_site()
    cid = held(client)
    page = admin.request("POST", "/admin/comments", {"action": "approve", "ids": cid})
    assert page.status == 401
    assert status_of(cid) == Status.PENDING


# -- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged-token", "other-session"])
def test_a_post_without_the_sessions_token_is_refused_and_changes_nothing(signed_in, token):
    client, admin, _ = signed_in
    cid = held(client)
    if token == "other-session":
        other = AdminBrowser(admin.port)
        other.login()
        token = other.csrf
    before = audit_count()
    form = {"action": "approve", "ids": cid}
    if token is not None:
        form["csrf"] = token
    page = admin.post("/admin/comments", form, csrf=False)
    assert page.status == 403
    assert "security token" in page.text
    assert page.header("Content-Type").startswith("text/html")
    assert status_of(cid) == Status.PENDING
    assert public_ids(client) == []
    assert audit_count() == before


def test_a_post_from_another_origin_is_refused(signed_in):
    client, admin, _ = signed_in
    cid = held(client)
    page = admin.post(
        "/admin/comments",
        {"action": "approve", "ids": cid},
        headers={"Origin": "https://blog.example.com"},
    )
    assert page.status == 403
    assert page.header("Content-Type").startswith("text/html")
    assert status_of(cid) == Status.PENDING
    page = admin.post(
        "/admin/comments",
        {"action": "approve", "ids": cid},
        headers={"Origin": f"http://127.0.0.1:{admin.port}", "Sec-Fetch-Site": "same-origin"},
    )
    assert page.status == 303
    assert status_of(cid) == Status.APPROVED


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("json body", 415),
        ("invalid utf-8", 400),
        ("non-numeric id", 400),
        ("unknown action", 400),
        ("no ids", 400),
        ("cross-site fetch", 403),
    ],
)
def test_malformed_forms_are_html_errors_that_change_nothing(signed_in, name, status):
    client, admin, _ = signed_in
    cid = held(client)
    token = admin.csrf
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = f"csrf={token}&action=approve&ids={cid}".encode()
    if name == "json body":
        headers["Content-Type"] = "application/json"
    elif name == "invalid utf-8":
        body += b"&q=\xff"
    elif name == "non-numeric id":
        body += b"&ids=1e3"
    elif name == "unknown action":
        body = body.replace(b"approve", b"publish")
    elif name == "no ids":
        body = f"csrf={token}&action=approve".encode()
    elif name == "cross-site fetch":
        headers["Sec-Fetch-Site"] = "same-site"
    before = audit_count()
    conn = HTTPConnection("127.0.0.1", admin.port, timeout=30)
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in admin.jar.items())
        conn.request("POST", "/admin/comments", body=body, headers={**headers, "Cookie": cookie})
        res = conn.getresponse()
        text = res.read().decode("utf-8", "replace")
        assert res.status == status, text
        assert res.getheader("Content-Type") == "text/html; charset=utf-8"
        assert res.getheader("Content-Security-Policy") == CSP
    finally:
        conn.close()
    assert status_of(cid) == Status.PENDING
    assert audit_count() == before


def test_a_lock_without_a_thread_is_a_400_page(signed_in):
    _, admin, _ = signed_in
    page = admin.post("/admin/threads/lock", {"thread": "x", "locked": "1"})
    assert page.status == 400
    assert "Name the thread" in page.text


# -- the actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "public"),
    [
        ("approve", Status.APPROVED, True),
        ("delete", Status.DELETED, False),
        ("spam", Status.SPAM, False),
    ],
)
def test_bulk_actions_change_the_public_thread_and_are_audited(signed_in, action, status, public):
    client, admin, _ = signed_in
    a, b, c = held(client, "one"), held(client, "two"), held(client, "three")
    page = admin.post("/admin/comments", {"action": action, "ids": [a, b], "status": "pending"})
    assert page.status == 303
    assert page.header("Location").startswith("/admin?")
    assert status_of(a) == status_of(b) == status
    assert status_of(c) == Status.PENDING
    assert public_ids(client) == ([a, b] if public else [])
    entry = last_audit()
    assert (entry.actor, entry.actor_name, entry.action) == ("admin", "admin", action)
    assert entry.address == "127.0.0.0"
    shown = admin.get(page.header("Location"))
    assert "2 comment(s)" in shown.text
    assert f'id="c{c}"' in shown.text
    assert f'id="c{a}"' not in shown.text


def test_an_unknown_id_refuses_the_whole_batch_with_an_html_page(signed_in):
    client, admin, _ = signed_in
    a = held(client)
    page = admin.post("/admin/comments", {"action": "approve", "ids": [a, 999_999]})
    assert page.status == 404
    assert page.header("Content-Type").startswith("text/html")
    assert "No comment 999999." in page.text
    assert status_of(a) == Status.PENDING


def test_editing_changes_the_public_comment_and_is_audited(signed_in):
    client, admin, _ = signed_in
    cid = client.post_comment(text="teh typo", author="Ann").json["comment"]["id"]
    admin.post("/admin/comments", {"action": "approve", "ids": cid})
    form = admin.get(f"/admin/comments/{cid}")
    assert "teh typo" in form.text
    page = admin.post(
        f"/admin/comments/{cid}",
        {"text": "the *fix*", "author": "Anne", "website": "https://anne.example"},
    )
    assert page.status == 303
    shown = client.get(f"/api/comments/{cid}").json["comment"]
    assert (shown["author"], shown["website"]) == ("Anne", "https://anne.example")
    assert "<em>fix</em>" in shown["html"]
    entry = last_audit()
    assert (entry.action, entry.target_id) == ("edit", cid)
    assert audit.detail_of(entry) == {"fields": ["author", "text", "website"]}


def test_an_invalid_edit_shows_the_form_again_and_changes_nothing(signed_in):
    client, admin, _ = signed_in
    cid = held(client, "original")
    page = admin.post(f"/admin/comments/{cid}", {"text": "kept", "website": "javascript:alert(1)"})
    assert page.status == 400
    assert "website must be an http or https URL with a valid host name and port." in page.text
    assert 'value="javascript:alert(1)"' in page.text
    assert ">kept</textarea>" in page.text
    with connection():
        assert Comment.get_by_id(cid).text == "original"


def test_pinning_puts_a_comment_first_in_the_public_thread(signed_in):
    client, admin, _ = signed_in
    a, b = held(client, "first"), held(client, "second")
    admin.post("/admin/comments", {"action": "approve", "ids": [a, b]})
    assert public_ids(client) == [a, b]
    assert admin.post(f"/admin/comments/{b}/pin", {"pinned": "1"}).status == 303
    assert public_ids(client) == [b, a]
    assert last_audit().action == "pin"
    assert "pinned" in admin.get(f"/admin/comments/{b}").text
    admin.post(f"/admin/comments/{b}/pin", {"pinned": "0"})
    assert public_ids(client) == [a, b]
    assert last_audit().action == "unpin"


def test_pinning_a_pending_comment_is_a_409_page(signed_in):
    client, admin, _ = signed_in
    cid = held(client)
    page = admin.post(f"/admin/comments/{cid}/pin", {"pinned": "1"})
    assert page.status == 409
    assert "Only approved comments can be pinned." in page.text


def test_locking_a_thread_closes_it_to_new_comments(signed_in):
    client, admin, _ = signed_in
    held(client, uri="/locked/")
    threads = admin.get("/admin/threads")
    assert "/locked/" in threads.text
    thread_id = re.search(r'name="thread" value="(\d+)"', threads.text)[1]
    assert admin.post("/admin/threads/lock", {"thread": thread_id, "locked": "1"}).status == 303
    assert client.thread("/locked/").json["thread"]["locked"] is True
    res = client.post_comment("/locked/", text="too late")
    assert (res.status, res.error_code) == (403, "thread_locked")
    entry = last_audit()
    assert (entry.action, audit.detail_of(entry)) == ("lock", {"uri": "/locked/"})
    assert "Unlock" in admin.get("/admin/threads").text
    admin.post("/admin/threads/lock", {"thread": thread_id, "locked": "0"})
    assert client.post_comment("/locked/", text="open again").status == 201


def test_the_audit_log_shows_who_did_what_from_where(signed_in):
    client, admin, _ = signed_in
    cid = held(client)
    admin.post("/admin/comments", {"action": "approve", "ids": cid})
    page = admin.get("/admin/audit")
    row = re.search(
        rf'<tr class="entry">(?:(?!</tr>).)*comment #{cid}(?:(?!</tr>).)*</tr>', page.text, re.S
    )
    assert row is not None
    cells = [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.S)
    ]
    assert cells[1:5] == ["admin (admin)", "127.0.0.0", "approve", f"comment #{cid}"]
    assert "from: pending" in cells[5]
    assert "login" in page.text


# -- the queue --------------------------------------------------------------------------------


def test_the_queue_shows_pending_oldest_first_with_counts(signed_in):
    client, admin, _ = signed_in
    a, b, c = held(client, "alpha"), held(client, "beta"), held(client, "gamma")
    admin.post("/admin/comments", {"action": "spam", "ids": c})
    page = admin.get("/admin")
    ids = [int(i) for i in re.findall(r'id="c(\d+)"', page.text)]
    assert ids == [a, b]
    assert re.search(r'pending <span class="count">2</span>', page.text)
    assert re.search(r'spam <span class="count">1</span>', page.text)
    spam = admin.get("/admin?status=spam")
    assert [int(i) for i in re.findall(r'id="c(\d+)"', spam.text)] == [c]


def test_search_and_thread_filter(signed_in):
    client, admin, _ = signed_in
    a = held(client, "about cats", author="Cat Fan", email="cats@example.com")
    b = held(client, "about dogs", uri="/dogs/")
    c = held(client, "plain", author="Bob", email="bob@cats.example")

    def shown(query: str) -> list[int]:
        return [int(i) for i in re.findall(r'id="c(\d+)"', admin.get(f"/admin?{query}").text)]

    assert shown("q=cats") == [a, c]
    assert shown("q=Bob") == [c]
    assert shown("thread=/dogs/") == [b]
    assert shown("thread=/dogs/&q=cats") == []
    assert shown("status=all&q=dogs") == [b]


def test_pages_of_fifty(signed_in):
    client, admin, _ = signed_in
    ids = [held(client, f"comment {n}") for n in range(52)]
    first = admin.get("/admin")
    assert [int(i) for i in re.findall(r'id="c(\d+)"', first.text)] == ids[:50]
    assert "page 1 of 2" in first.text
    assert 'rel="next"' in first.text
    second = admin.get("/admin?status=pending&thread=&q=&page=2")
    assert [int(i) for i in re.findall(r'id="c(\d+)"', second.text)] == ids[50:]


def test_text_from_commenters_is_escaped(signed_in):
    client, admin, _ = signed_in
    held(client, "<img src=x onerror=alert(1)>", author='<script>alert("a")</script>')
    page = admin.get("/admin")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&quot;a&quot;)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text


def test_a_bad_status_filter_is_a_400_page(signed_in):
    _, admin, _ = signed_in
    page = admin.get("/admin?status=bogus")
    assert page.status == 400
    assert page.header("Content-Type").startswith("text/html")


# -- the outbox -------------------------------------------------------------------------------


def test_the_outbox_shows_failures_and_retries_them(signed_in):
    _, admin, _ = signed_in
    with connection():
        message = OutboxMessage.create(
            kind="email",
            recipient="admin@example.com",
            payload="{}",
            status="failed",
            attempts=5,
            last_error="SMTPConnectError: <refused>",
        )
    page = admin.get("/admin/outbox")
    assert "admin@example.com" in page.text
    assert "SMTPConnectError: &lt;refused&gt;" in page.text
    assert re.search(r'failed <span class="count">1</span>', page.text)
    assert admin.post(f"/admin/outbox/{message.id}/retry", {}).status == 303
    with connection():
        again = OutboxMessage.get_by_id(message.id)
    assert (again.status, again.attempts) == ("pending", 0)
    entry = last_audit()
    assert (entry.action, entry.target_type, entry.target_id) == ("retry", "outbox", message.id)
    page = admin.post(f"/admin/outbox/{message.id}/retry", {})
    assert page.status == 409


# -- headers and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/admin", "/admin/threads", "/admin/audit", "/admin/outbox", "/admin/nope"]
)
def test_every_admin_page_carries_the_strict_headers(signed_in, path):
    _, admin, _ = signed_in
    page = admin.get(path)
    assert page.status == (404 if path == "/admin/nope" else 200)
    assert page.header("Content-Security-Policy") == CSP
    assert page.header("X-Frame-Options") == "DENY"
    assert page.header("Cache-Control") == "no-store"
    assert page.header("Referrer-Policy") == "same-origin"
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert '<meta name="viewport"' in page.text


def test_the_sign_in_page_and_errors_carry_them_too(admin_site):
    _, admin, _ = admin_site()
    for page in (admin.get("/admin"), admin.login("wrong password"), admin.get("/admin/x/y")):
        assert page.header("Content-Security-Policy") == CSP
        assert page.header("Cache-Control") == "no-store"
        assert page.header("Content-Type").startswith("text/html")


def test_api_errors_stay_json(signed_in):
    client, admin, _ = signed_in
    res = client.get("/api/nope")
    assert res.status == 404
    assert res.error_code == "not_found"
    assert admin.get("/admin/nope").header("Content-Type").startswith("text/html")
    assert admin.request("PUT", "/admin").status == 405


def test_signed_out_pages_redirect_to_the_sign_in_form(admin_site):
    _, admin, _ = admin_site()
    page = admin.get("/admin/audit")
    assert page.status == 303
    assert page.header("Location").endswith("/admin")


def test_the_admin_files_are_served(admin_site):
    _, admin, _ = admin_site()
    css = admin.get("/admin/static/admin.css")
    assert css.status == 200
    assert css.header("Content-Type").startswith("text/css")
    assert admin.get("/admin/static/admin.js").status == 200
    assert admin.get("/admin/static/missing.js").status == 404


def test_admin_pages_are_never_compressed(signed_in):
    """BREACH: a page holding the session's CSRF token beside strangers' comments must not
    be compressed, or its length would tell an attacker what the token is."""
    client, admin, _ = signed_in
    for n in range(5):
        held(client, text=f"a stranger's words, number {n}, " * 10)
    page = admin.get("/admin", headers={"Accept-Encoding": "gzip"})
    assert page.status == 200
    assert page.csrf
    assert "words, number 4" in page.text
    assert len(page.text) > 2048
    assert page.header("Content-Encoding") is None
