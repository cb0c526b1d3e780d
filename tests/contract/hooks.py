"""Schemathesis auth providers for ``run_schemathesis.py`` (loaded through SCHEMATHESIS_HOOKS).

- the API's edit token (comment 1's) as ``Authorization: Bearer`` on ``/api/comments/{id}``;
- on ``POST /admin/login``: the sign-in form's nonce cookie, its CSRF token and the password;
- on ``POST /admin/logout``: a fresh session for each request, so signing out ends that one
  and not the session every other admin request uses;
- on every other ``/admin`` operation: one session cookie, signed in again when a 401 says
  it ended, and the session's CSRF token.

Only a ``csrf`` or ``password`` the generated form already has, as a string, is replaced:
a form generated without one (a negative case) stays without one.

WebFinger's ``resource`` in the spec's example names the example host: it is swapped for the
account on the server's own host, so that the JRD itself is checked too.

``POST /ap/inbox`` takes signed requests only: a case that has a ``Signature`` header as a
string is signed for real, by the remote account ``run_schemathesis.py`` keeps (its ``Date``,
``Digest`` and ``Signature``, each only if the case has it; the body's ``actor``, if a string,
made that account), so that the activities reach the inbox's checks instead of a 401.

A thread page's ``cursor`` is opaque: the server refuses one it did not make (400), so a
generated one could only test that. A generated cursor the schema allows is swapped for one
the server made for the request's sort (Schemathesis re-checks the case after the swap).
"""

from __future__ import annotations

import http.client
import json
import os
import re
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

import schemathesis
from schemathesis.core import NOT_SET

from commentd.services.fediverse import signatures
from commentd.services.fediverse.keys import KeyPair
from commentd.storage.models import utcnow

BASE = urlsplit(os.environ["CONTRACT_BASE_URL"])
EDIT_TOKEN = os.environ["CONTRACT_EDIT_TOKEN"]
PASSWORD = os.environ["CONTRACT_ADMIN_PASSWORD"]
CURSORS = json.loads(os.environ["CONTRACT_CURSORS"])
SESSION_COOKIE = "commentd_admin"
LOGIN_COOKIE = "commentd_admin_login"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
PEER = os.environ["CONTRACT_PEER"]
PEER_KEY = KeyPair(os.environ["CONTRACT_PEER_KEY"])


class Form(NamedTuple):
    """What a signed form needs: a cookie (name and value) and the CSRF token bound to it."""

    cookie: str
    value: str
    csrf: str


def _request(method: str, path: str, cookies: dict[str, str], body: dict | None = None):
    conn = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=10)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    data = None
    if body is not None:
        data = urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    res = conn.getresponse()
    text = res.read().decode()
    conn.close()
    set_cookies = {}
    for header in res.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        set_cookies[name] = rest.split(";", 1)[0].strip('"')
    return res.status, text, set_cookies


def _csrf(page: str) -> str:
    found = CSRF_RE.search(page)
    assert found, "no CSRF token on the admin page"
    return found[1]


def login_form() -> Form:
    status, page, cookies = _request("GET", "/admin", {})
    assert status == 200, (status, page[:300])
    assert LOGIN_COOKIE in cookies, cookies
    return Form(LOGIN_COOKIE, cookies[LOGIN_COOKIE], _csrf(page))


def session() -> Form:
    """Sign in as the admin: the session cookie and its CSRF token."""
    form = login_form()
    status, page, cookies = _request(
        "POST",
        "/admin/login",
        {form.cookie: form.value},
        {"csrf": form.csrf, "password": PASSWORD},
    )
    assert status == 303, (status, page[:300])
    assert SESSION_COOKIE in cookies, cookies
    cookie = cookies[SESSION_COOKIE]
    status, page, _ = _request("GET", "/admin", {SESSION_COOKIE: cookie})
    assert status == 200, (status, page[:300])
    return Form(SESSION_COOKIE, cookie, _csrf(page))


def _sign(case, form: Form, **fields: str) -> None:
    case.cookies = {**(case.cookies or {}), form.cookie: form.value}
    if isinstance(case.body, dict):
        for name, value in fields.items():
            if isinstance(case.body.get(name), str):
                case.body[name] = value


class AdminSession:
    def get(self, case, context) -> Form:
        return session()

    def set(self, case, data: Form, context) -> None:
        _sign(case, data, csrf=data.csrf)


class LoginForm:
    def get(self, case, context) -> Form:
        return login_form()

    def set(self, case, data: Form, context) -> None:
        _sign(case, data, csrf=data.csrf, password=PASSWORD)


# The first provider whose filter matches an operation signs it: the narrow ones come first.
schemathesis.auth(refresh_interval=None).apply_to(path="/admin/logout")(AdminSession)
schemathesis.auth().apply_to(path="/admin/login")(LoginForm)
schemathesis.auth().apply_to(path_regex="^/admin")(AdminSession)


# not on votes: with the author's own token a vote is 403, and the vote itself goes untested
@schemathesis.auth().apply_to(path="/api/comments/{id}")
class EditToken:
    def get(self, case, context) -> str:
        return EDIT_TOKEN

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook("before_call").apply_to(method="GET", path_regex="^/(api/comments|html/thread)$")
def server_made_cursor(context, case, kwargs) -> None:
    cursor = (case.query or {}).get("cursor")
    if isinstance(cursor, str) and 0 < len(cursor) <= 400:
        sort = case.query.get("sort")
        case.query["cursor"] = CURSORS.get(sort if isinstance(sort, str) else "", CURSORS["oldest"])


EXAMPLE_ACCOUNT = "acct:blog@comments.example.com"


@schemathesis.hook("before_call").apply_to(method="GET", path="/.well-known/webfinger")
def own_host_account(context, case, kwargs) -> None:
    if (case.query or {}).get("resource") == EXAMPLE_ACCOUNT:
        case.query["resource"] = f"acct:blog@{BASE.netloc}"


@schemathesis.hook("before_call").apply_to(method="POST", path="/ap/inbox")
def signed_by_the_peer(context, case, kwargs) -> None:
    headers = dict(case.headers or {})
    if not isinstance(headers.get("Signature"), str):
        return  # a case without a signature stays without one
    if isinstance(case.body, dict) and isinstance(case.body.get("actor"), str):
        case.body["actor"] = PEER
    # what requests sends: json.dumps of the body, as Schemathesis' JSON serializers do
    if case.body is NOT_SET:
        body = b""
    elif isinstance(case.body, bytes):
        body = case.body  # a raw body (a negative case) goes as it is
    else:
        body = json.dumps(case.body).encode()
    url = f"{BASE.scheme}://{BASE.netloc}/ap/inbox"
    made = signatures.sign(PEER_KEY.private_key, PEER + "#main-key", "POST", url, body, utcnow())
    for name in ("Date", "Digest", "Signature"):
        if isinstance(headers.get(name), str):
            headers[name] = made[name]
    case.headers = headers
