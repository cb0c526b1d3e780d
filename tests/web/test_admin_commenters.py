"""The admin page's bans, commenter view and outbox banner over real HTTP: every form as a
browser without JavaScript sends it, what the public API then does, the audit log, and the
refusals (CSRF, signed out, bad input) that change nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from commentd.services import audit
from commentd.storage.database import connection
from commentd.storage.models import AuditEntry, Ban, Comment, OutboxMessage, Status
from tests.web.test_admin import (
    PASSWORD,
    AdminBrowser,
    audit_count,
    held,
    last_audit,
    public_ids,
    status_of,
)

OTHER_NETWORK = "203.0.113.77"


@pytest.fixture(autouse=True)
def fresh_bans(monkeypatch):
    # The server rereads bans every BANS_TTL seconds; here every comment rereads them.
    monkeypatch.setattr("commentd.services.screening.BANS_TTL", 0)


@pytest.fixture
def proxied(admin_site):
    """A signed-in admin on a site behind a trusted proxy on 127.0.0.1, so comments can come
    from other networks (``X-Forwarded-For``) while the admin stays on 127.0.0.0."""
    client, admin, config = admin_site(**{"server.trusted_proxies": "127.0.0.1"})
    assert admin.login().status == 303
    return client, admin, config


def post_from(client, address: str, uri: str = "/post/", **fields: Any):
    fields.setdefault("text", "hello")
    return client.post(
        "/api/comments", fields, query={"uri": uri}, headers={"X-Forwarded-For": address}
    )


def shown_ids(page) -> list[int]:
    return [int(i) for i in re.findall(r'id="c(\d+)"', page.text)]


def bans_now() -> list[tuple[str, str, str | None]]:
    with connection():
        return [(b.kind, b.value, b.reason) for b in Ban.select().order_by(Ban.id)]


# -- the bans page ----------------------------------------------------------------------------


def test_adding_and_removing_bans_changes_what_the_api_takes_and_is_audited(signed_in):
    client, admin, _ = signed_in
    assert "Nobody is banned." in admin.get("/admin/bans").text
    page = admin.post(
        "/admin/bans", {"kind": "email", "value": " Troll@Example.COM ", "reason": "trolling"}
    )
    assert (page.status, page.header("Location")) == (303, "/admin/bans?done=ban")
    admin.post("/admin/bans", {"kind": "word", "value": "Casino"})
    admin.post("/admin/bans", {"kind": "ip", "value": "198.51.100.7"})
    assert bans_now() == [
        ("email", "troll@example.com", "trolling"),
        ("word", "casino", None),
        ("ip", "198.51.100.7/32", None),
    ]
    shown = admin.get("/admin/bans?done=ban")
    assert "Added the ban." in shown.text
    assert [re.sub(r"<[^>]+>", "", v) for v in re.findall(r'class="wrap">(.*?)</td>', shown.text)][
        ::2
    ] == ["troll@example.com", "198.51.100.7/32", "casino"]  # by kind, then value
    assert client.post_comment(email="troll@example.com").error_code == "blocked"
    assert client.post_comment(text="best casino").error_code == "blocked"
    entry = last_audit()
    assert (entry.actor, entry.action, entry.address) == ("admin", "ban", "127.0.0.0")
    assert audit.detail_of(entry) == {"kind": "ip", "value": "198.51.100.7/32"}

    with connection():
        email_ban = Ban.get(Ban.kind == "email")
    page = admin.post(f"/admin/bans/{email_ban.id}/remove", {})
    assert (page.status, page.header("Location")) == (303, "/admin/bans?done=unban")
    assert "Lifted the ban." in admin.get(page.header("Location")).text
    assert client.post_comment(email="troll@example.com").status == 201
    entry = last_audit()
    assert (entry.action, audit.detail_of(entry)) == (
        "unban",
        {"kind": "email", "value": "troll@example.com"},
    )
    again = admin.post(f"/admin/bans/{email_ban.id}/remove", {})
    assert again.status == 404
    assert f"No ban {email_ban.id}." in again.text


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"kind": "person", "value": "x"}, 400, "kind must be one of email, ip, word, domain."),
        ({"kind": "ip", "value": "not-an-ip"}, 400, "is not an IP address or CIDR network."),
        ({"kind": "email", "value": "nobody"}, 400, "is not an email address or @domain."),
        ({"kind": "word", "value": "   "}, 400, "Give a value of 1 to 256 characters."),
        ({"kind": "word", "value": "x" * 257}, 400, "Give a value of 1 to 256 characters."),
        ({"kind": "word", "value": "ok", "reason": "r" * 257}, 400, "at most 256 characters"),
        ({"kind": "word", "value": "casino"}, 409, "word casino is already banned."),
    ],
)
def test_a_bad_ban_shows_the_form_again_with_what_was_typed(signed_in, form, status, message):
    _, admin, _ = signed_in
    admin.post("/admin/bans", {"kind": "word", "value": "casino"})
    before = (bans_now(), audit_count())
    page = admin.post("/admin/bans", form)
    assert page.status == status
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert re.search(r'<p class="error" role="alert">[^<]*' + re.escape(message), page.text)
    if form["value"].strip():
        assert f'value="{form["value"]}"' in page.text
    assert (bans_now(), audit_count()) == before


def test_the_bans_page_is_paged(signed_in, monkeypatch):
    monkeypatch.setattr("commentd.web.admin.PAGE_SIZE", 2)
    _, admin, _ = signed_in
    for word in ("alpha", "beta", "gamma"):
        admin.post("/admin/bans", {"kind": "word", "value": word})
    first = admin.get("/admin/bans")
    assert ("alpha" in first.text, "beta" in first.text, "gamma" in first.text) == (
        True,
        True,
        False,
    )
    assert 'rel="next"' in first.text
    second = admin.get("/admin/bans?page=2")
    assert "gamma" in second.text
    assert "alpha" not in second.text


# -- banning from a comment -------------------------------------------------------------------


def test_ban_this_email_from_the_comment_page(proxied):
    client, admin, _ = proxied
    cid = post_from(client, OTHER_NETWORK, email="Spammer@Example.com").json["comment"]["id"]
    page = admin.get(f"/admin/comments/{cid}")
    assert ">Ban this email <" in page.text
    assert ">Ban this network <" in page.text
    done = admin.post(f"/admin/comments/{cid}/ban", {"what": "email", "back": "comment"})
    assert (done.status, done.header("Location")) == (
        303,
        f"/admin/comments/{cid}?done=ban_email",
    )
    assert bans_now() == [("email", "spammer@example.com", None)]
    entry = last_audit()
    assert (entry.action, audit.detail_of(entry)) == (
        "ban",
        {"kind": "email", "value": "spammer@example.com", "comment": cid},
    )
    page = admin.get(done.header("Location"))
    assert "Banned the comment&#039;s email." in page.text
    assert "email banned" in page.text
    assert ">Ban this email <" not in page.text
    refused = post_from(client, "198.51.100.1", email="spammer@example.com")
    assert refused.error_code == "blocked"


def test_ban_this_network_bans_the_stored_network_only(proxied):
    client, admin, _ = proxied
    cid = post_from(client, OTHER_NETWORK).json["comment"]["id"]
    assert admin.post(f"/admin/comments/{cid}/ban", {"what": "network"}).status == 303
    assert bans_now() == [("ip", "203.0.113.0/24", None)]
    assert post_from(client, "203.0.113.200").error_code == "blocked"
    assert post_from(client, "203.0.114.1").status == 201
    assert "network banned" in admin.get(f"/admin/comments/{cid}").text


def test_ban_this_network_of_an_ipv6_comment_is_its_48(proxied):
    client, admin, _ = proxied
    cid = post_from(client, "2001:db8:1234:5678::9").json["comment"]["id"]
    admin.post(f"/admin/comments/{cid}/ban", {"what": "network"})
    assert bans_now() == [("ip", "2001:db8:1234::/48", None)]
    assert post_from(client, "2001:db8:1234:ffff::1").error_code == "blocked"


def test_the_queue_has_ban_buttons_that_return_to_it(proxied):
    client, admin, _ = proxied
    a = held(client, "one", email="a@example.com")
    b = post_from(client, OTHER_NETWORK, text="two").json["comment"]["id"]
    queue = admin.get("/admin?status=pending&q=o")
    assert f'formaction="/admin/comments/{a}/ban" name="what" value="email"' in queue.text
    assert f'formaction="/admin/comments/{b}/ban" name="what" value="email"' not in queue.text
    assert f'formaction="/admin/comments/{b}/ban" name="what" value="network"' in queue.text
    # the whole bulk form is sent, with the ticked ids: only the comment in the address counts
    page = admin.post(
        f"/admin/comments/{b}/ban",
        {"what": "network", "ids": [a], "status": "pending", "thread": "", "q": "o", "page": "1"},
    )
    assert page.header("Location") == "/admin?status=pending&q=o&page=1&done=ban_network"
    assert bans_now() == [("ip", "203.0.113.0/24", None)]
    assert status_of(a) == status_of(b) == Status.PENDING
    shown = admin.get(page.header("Location"))
    assert "Banned the comment&#039;s network." in shown.text
    assert "network banned" in shown.text


@pytest.mark.parametrize(
    ("what", "cid", "status", "message"),
    [
        ("name", "own", 400, "Ban the comment&#039;s email or network."),
        ("", "own", 400, "Ban the comment&#039;s email or network."),
        ("email", "own", 409, "has no email to ban."),
        ("email", "999999", 404, "No comment 999999."),
        ("network", "deleted", 409, "has no network to ban."),
    ],
)
def test_a_ban_that_cannot_be_taken_is_a_clear_page(signed_in, what, cid, status, message):
    client, admin, _ = signed_in
    own = held(client, "no email here")
    if cid == "own":
        cid = own
    elif cid == "deleted":
        cid = own
        with connection():
            Comment.update(remote_addr=None).where(Comment.id == own).execute()
    before = (bans_now(), audit_count())
    page = admin.post(f"/admin/comments/{cid}/ban", {"what": what})
    assert page.status == status
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert message in page.text
    assert (bans_now(), audit_count()) == before


def test_banning_twice_is_a_409_page(signed_in):
    client, admin, _ = signed_in
    cid = held(client, email="x@example.com")
    assert admin.post(f"/admin/comments/{cid}/ban", {"what": "email"}).status == 303
    page = admin.post(f"/admin/comments/{cid}/ban", {"what": "email"})
    assert page.status == 409
    assert "email x@example.com is already banned." in page.text


# -- refusals: CSRF, signed out ---------------------------------------------------------------

POSTS = [
    ("/admin/bans", {"kind": "word", "value": "casino"}),
    ("/admin/bans/{ban}/remove", {}),
    ("/admin/comments/{comment}/ban", {"what": "email"}),
    ("/admin/comments/{comment}/ban", {"what": "network"}),
]


@pytest.mark.parametrize(("path", "form"), POSTS)
@pytest.mark.parametrize("token", [None, "forged-token", "signed-out"])
def test_every_new_form_needs_a_session_and_its_token(signed_in, path, form, token):
    client, admin, _ = signed_in
    cid = held(client, email="a@example.com")
    admin.post("/admin/bans", {"kind": "word", "value": "keep"})
    with connection():
        ban_id = Ban.get().id
    path = path.format(ban=ban_id, comment=cid)
    before = (bans_now(), audit_count())
    if token == "signed-out":
        page = AdminBrowser(admin.port).request("POST", path, form)
        assert page.status == 401
    else:
        page = admin.post(path, form if token is None else {**form, "csrf": token}, csrf=False)
        assert page.status == 403
        assert "security token" in page.text
    assert (bans_now(), audit_count()) == before


def test_a_ban_from_another_origin_is_refused(signed_in):
    client, admin, _ = signed_in
    cid = held(client, email="a@example.com")
    page = admin.post(
        f"/admin/comments/{cid}/ban",
        {"what": "email"},
        headers={"Origin": "https://blog.example.com"},
    )
    assert page.status == 403
    assert bans_now() == []


# -- the commenter view -----------------------------------------------------------------------


def test_every_comment_by_one_email_in_any_case_across_threads(signed_in):
    client, admin, _ = signed_in
    a = held(client, "first", email="Ada@Example.com")
    b = held(client, "second", uri="/other/", email="ada@example.com")
    held(client, "someone else", email="bob@example.com")
    admin.post("/admin/comments", {"action": "approve", "ids": b})
    page = admin.get(f"/admin/comments/{a}")
    link = re.search(
        r'href="(/admin/commenter/email\?email=[^"]+)">Every comment by this email', page.text
    )
    assert link is not None
    view = admin.get(link[1].replace("&amp;", "&"))
    assert view.status == 200
    assert "Comments by ada@example.com" in view.text
    assert shown_ids(view) == [b, a]  # newest first
    assert re.search(r'pending <span class="count">1</span>', view.text)
    assert re.search(r'approved <span class="count">1</span>', view.text)
    assert re.search(r'all <span class="count">2</span>', view.text)
    pending = admin.get("/admin/commenter/email?email=ADA%40example.com&status=pending")
    assert shown_ids(pending) == [a]


def test_every_comment_from_one_network_without_showing_more_of_the_address(proxied):
    client, admin, _ = proxied
    a = post_from(client, "203.0.113.5", text="one").json["comment"]["id"]
    b = post_from(client, "203.0.113.250", text="two", uri="/x/").json["comment"]["id"]
    post_from(client, "198.51.100.5", text="elsewhere")
    queue = admin.get("/admin")
    assert 'href="/admin/commenter/network?network=203.0.113.0"' in queue.text
    view = admin.get("/admin/commenter/network?network=203.0.113.0")
    assert "Comments from 203.0.113.0/24" in view.text
    assert shown_ids(view) == [b, a]
    assert "203.0.113.5" not in view.text
    assert "203.0.113.250" not in view.text


def test_bulk_actions_in_the_commenter_view_return_to_it(signed_in):
    client, admin, _ = signed_in
    a = held(client, "one", email="spam@example.com")
    b = held(client, "two", uri="/other/", email="spam@example.com")
    c = held(client, "three", email="good@example.com")
    view = admin.get("/admin/commenter/email?email=spam%40example.com")
    assert 'name="email" value="spam@example.com"' in view.text
    page = admin.post(
        "/admin/comments",
        {"action": "spam", "ids": [a, b], "email": "spam@example.com", "status": "all"},
    )
    assert page.status == 303
    assert page.header("Location") == (
        "/admin/commenter/email?email=spam%40example.com&status=all&done=spam&n=2"
    )
    assert (status_of(a), status_of(b), status_of(c)) == (Status.SPAM, Status.SPAM, Status.PENDING)
    shown = admin.get(page.header("Location"))
    assert "Marked 2 comment(s) as spam." in shown.text
    assert re.search(r'spam <span class="count">2</span>', shown.text)
    page = admin.post(
        "/admin/comments", {"action": "approve", "ids": [a], "network": "127.0.0.0", "page": "1"}
    )
    assert (
        page.header("Location")
        == "/admin/commenter/network?network=127.0.0.0&page=1&done=approve&n=1"
    )
    assert public_ids(client) == [a]


def test_the_commenter_view_is_paged(signed_in, monkeypatch):
    monkeypatch.setattr("commentd.web.admin.PAGE_SIZE", 2)
    client, admin, _ = signed_in
    ids = [held(client, f"n{n}", email="many@example.com") for n in range(3)]
    first = admin.get("/admin/commenter/email?email=many%40example.com")
    assert shown_ids(first) == [ids[2], ids[1]]
    assert "page 1 of 2" in first.text
    assert 'href="/admin/commenter/email?email=many%40example.com&amp;status=all&amp;page=2"' in (
        first.text
    )
    second = admin.get("/admin/commenter/email?email=many%40example.com&status=all&page=2")
    assert shown_ids(second) == [ids[0]]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("email", "Give the email whose comments to show."),
        ("email?email=", "is not an email address or @domain."),
        ("email?email=nobody", "is not an email address or @domain."),
        ("email?email=a%20b%40example.com", "is not an email address or @domain."),
        ("email?email=" + "a" * 300 + "%40example.com", "Give a value of 1 to 256 characters."),
        ("network", "Give the network whose comments to show."),
        ("network?network=127.0.0.0%2F24", "network must be an IP address"),
        ("network?network=01.2.3.4", "network must be an IP address"),
        ("network?network=fe80%3A%3A1%25eth0", "network must be an IP address"),
        ("network?network=%3Cscript%3E", "network must be an IP address"),
        ("email?email=a%40example.com&status=bogus", "status must be one of"),
    ],
)
def test_a_bad_commenter_is_a_400_page(signed_in, path, message):
    _, admin, _ = signed_in
    page = admin.get(f"/admin/commenter/{path}")
    assert page.status == 400
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert message in page.text
    assert "<script>" not in page.text


def test_any_address_of_a_network_shows_the_network(proxied):
    client, admin, _ = proxied
    a = post_from(client, "203.0.113.5").json["comment"]["id"]
    b = post_from(client, "2001:db8:1234:5678::9").json["comment"]["id"]
    view = admin.get("/admin/commenter/network?network=%20203.0.113.99%20")
    assert "Comments from 203.0.113.0/24" in view.text
    assert shown_ids(view) == [a]
    view = admin.get("/admin/commenter/network?network=2001:DB8:1234:ffff::1")
    assert "Comments from 2001:db8:1234::/48" in view.text
    assert shown_ids(view) == [b]


def test_every_comment_from_one_domain(signed_in):
    client, admin, _ = signed_in
    a = held(client, "one", email="a@spam.example")
    b = held(client, "two", email="b@spam.example")
    held(client, "three", email="c@notspam.example")
    held(client, "four", email="d@spam_example")
    page = admin.get(f"/admin/comments/{a}")
    assert "Every comment from an address at @spam.example" in page.text
    view = admin.get("/admin/commenter/email?email=%40SPAM.example")
    assert "Comments by @spam.example" in view.text
    assert shown_ids(view) == [b, a]
    assert shown_ids(admin.get("/admin/commenter/email?email=%40spam_example")) == [
        shown_ids(admin.get("/admin?q=four"))[0]
    ]  # _ is a letter here, not LIKE's wildcard


def test_the_commenter_view_needs_a_session(admin_site):
    _, admin, _ = admin_site()
    page = admin.get("/admin/commenter/email?email=a%40example.com")
    assert (page.status, page.header("Location").endswith("/admin")) == (303, True)


# -- the outbox banner ------------------------------------------------------------------------


def test_the_queue_says_when_the_outbox_holds_failed_messages(signed_in):
    _, admin, _ = signed_in
    assert "failed to send" not in admin.get("/admin").text
    with connection():
        for n in range(2):
            OutboxMessage.create(
                kind="email", recipient=f"m{n}@example.com", payload="{}", status="failed"
            )
        OutboxMessage.create(kind="email", recipient="p@example.com", payload="{}")
    page = admin.get("/admin")
    banner = re.search(r'<p class="warning">(.*?)</p>', page.text, re.S)
    assert banner is not None
    assert "2 message(s) in the outbox failed to send" in banner[1]
    assert 'href="/admin/outbox?status=failed"' in banner[1]
    assert page.text.count('class="warning"') == 1
    outbox = admin.get("/admin/outbox?status=failed")
    assert outbox.text.count('class="message status-failed"') == 2


# -- the audit log: failed sign-ins -----------------------------------------------------------


def test_failed_sign_ins_are_audited_until_the_limit_refuses_them(admin_site):
    _, admin, _ = admin_site(**{"admin.login_attempts": 2})
    before = audit_count()
    for _ in range(2):
        assert admin.login("not the password").status == 401
    assert admin.login("still not it").status == 429
    assert admin.login(PASSWORD).status == 429
    with connection():
        new = list(AuditEntry.select().order_by(AuditEntry.id))[before:]
    assert [(e.actor, e.action, e.address) for e in new] == [
        ("admin", "login_failed", "127.0.0.0"),
        ("admin", "login_failed", "127.0.0.0"),
    ]
