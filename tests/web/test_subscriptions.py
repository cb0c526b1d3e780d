"""Notifications that cannot relay spam, as readers and admins meet them: comments posted over
HTTP, mail read as raw bytes from a real SMTP server, the confirmation and unsubscribe links
followed over HTTP."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import threading

import pytest

from commentd.services import outbox
from commentd.services.digest import AdminDigest, last_period
from commentd.services.moderation import ModerationService
from commentd.services.site import open_site
from commentd.services.subscriptions import Subscriptions
from commentd.storage.database import connection, write_transaction
from commentd.storage.models import Comment, DigestPeriod, Status, Subscriber, Thread, utcnow
from tests.services.test_mail import mailbox  # noqa: F401 - a fixture
from tests.web import test_notifications
from tests.web.test_notifications import (
    ADMIN,
    CLI,
    PUBLIC,
    body,
    confirm,
    confirmation_path,
    links_in,
)

site = test_notifications.site  # the fixture: a site mailing the in-process SMTP server

PAT = "pat@example.com"


def headers_of(raw: bytes) -> list[bytes]:
    """The raw header lines of a mail as the SMTP server received it (folds kept)."""
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def subjects(s, address: str) -> list[str]:
    s.deliver()
    return [m.message["Subject"] for m in s.mailbox.to(address)]


def ask(s, uri="/post/", **fields):
    fields = {"text": "Tell me", "author": "Pat", "email": PAT, "notify": True, **fields}
    return s.client.post_comment(uri, **fields).json


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# -- double opt-in ---------------------------------------------------------------------------


def test_ticking_sends_one_confirmation_and_nothing_else_until_it_is_followed(site):
    s = site()
    posted = ask(s)
    assert posted["notifications"] == "unconfirmed"
    assert PAT not in str(posted)  # the answer never repeats the address
    (asked,) = s.mails(PAT)
    assert asked.message["Subject"] == "Confirm your notifications from blog.example.com"
    assert "https://blog.example.com/post/" in body(asked)
    raw = headers_of(asked.raw)
    assert not [h for h in raw if h.startswith(b"List-Unsubscribe")]  # not a notification

    again = ask(s, text="And me again")  # the same address at once: no second mail
    assert again["notifications"] == "unconfirmed"
    parent = posted["comment"]["id"]
    s.client.post_comment(text="A reply", author="Rob", email="rob@example.com", parent=parent)
    assert subjects(s, PAT) == ["Confirm your notifications from blog.example.com"]

    path = confirmation_path(s, PAT)
    page = s.client.get(path)  # what a mail scanner does: nothing changes
    assert page.status == 200
    assert b'<form method="post">' in page.raw
    assert Subscriber.get().confirmed is None
    done = s.client.post(path, headers={"Origin": PUBLIC})
    assert done.status == 200
    assert b"confirmed" in done.raw
    assert Subscriber.get().confirmed is not None
    assert s.client.post(path).status == 200  # twice is harmless

    s.mailbox.received.clear()
    s.client.post_comment(text="Second reply", author="Rob", parent=parent)
    (told,) = s.mails(PAT)
    assert told.message["Subject"] == "Rob replied to your comment on /post/"
    assert "Second reply" in body(told)
    assert ask(s, text="Once more")["notifications"] == "confirmed"  # not asked again
    assert len(s.mails(PAT)) == 1


def test_a_held_comment_asks_only_once_approved_and_spam_never(site):
    s = site(moderation__mode="all")
    held = ask(s)
    assert held["comment"]["status"] == "pending"
    assert held["notifications"] == "unconfirmed"
    bot = ask(s, text="Buy pills", email="victim@example.com", homepage="http://spam.example")
    assert Comment.get_by_id(bot["comment"]["id"]).status == Status.SPAM
    assert s.mails(PAT) == []
    assert s.mails("victim@example.com") == []

    moderation = ModerationService(s.config, open_site(s.config).events)
    moderation.approve([held["comment"]["id"]], CLI)
    assert subjects(s, PAT) == ["Confirm your notifications from blog.example.com"]
    moderation.approve([bot["comment"]["id"]], CLI)  # a moderator's mistake: still asks first
    assert subjects(s, "victim@example.com") == ["Confirm your notifications from blog.example.com"]
    assert Subscriber.get(Subscriber.email == "victim@example.com").confirmed is None


def test_a_held_reply_mails_nobody_until_approved(site):
    s = site(moderation__mode="first")
    moderation = ModerationService(s.config, open_site(s.config).events)
    parent = ask(s)["comment"]["id"]
    moderation.approve([parent], CLI)
    confirm(s, PAT)
    reply = s.client.post_comment(text="held reply", email="new@example.com", parent=parent)
    assert reply.json["comment"]["status"] == "pending"
    assert s.mails(PAT) == []
    moderation.mark_spam([reply.json["comment"]["id"]], CLI)
    assert s.mails(PAT) == []
    other = s.client.post_comment(text="good reply", email="good@example.com", parent=parent)
    moderation.approve([other.json["comment"]["id"]], CLI)
    (told,) = s.mails(PAT)
    assert "good reply" in body(told)


def test_confirmation_mails_are_limited_per_network(site):
    s = site(ratelimit__confirmations_per_network=2)
    for n in range(4):
        posted = ask(s, text=f"Reader {n}", email=f"reader{n}@example.com")
        assert posted["notifications"] == "unconfirmed"
    s.deliver()
    mailed = sorted(r for m in s.mailbox.received for r in m.rcpt_tos if r != ADMIN)
    assert mailed == ["reader0@example.com", "reader1@example.com"]


def test_confirmation_mails_are_limited_per_address(site):
    s = site(ratelimit__confirmations_per_address=2)
    keys = open_site(s.config).keys
    posted = ask(s)["comment"]["id"]
    s.deliver()
    with connection():
        comment = Comment.get_by_id(posted)
        for hours in (2, 4, 6):  # later than the hour in which it is not asked again
            later = utcnow() + dt.timedelta(hours=hours)
            with write_transaction():
                asked = Subscriptions(s.config, keys, clock=lambda later=later: later).ask(comment)
            assert (asked is not None) == (hours == 2), hours


def test_a_bad_or_expired_confirmation_link_is_refused(site):
    s = site(mail__link_expiry="1m")
    ask(s)
    path = confirmation_path(s, PAT)
    digest, stamp, signature = path.rsplit("/", 1)[1].split(".")
    forged = f"/confirm/{digest}.{int(stamp) + 60}.{signature}"
    assert s.client.get(forged).status == 404
    assert s.client.post(forged).status == 404
    assert s.client.get("/confirm/nonsense").status == 404
    keys = open_site(s.config).keys
    later = Subscriptions(s.config, keys, clock=lambda: utcnow() + dt.timedelta(minutes=2))
    with connection(), pytest.raises(Exception, match="expired") as caught:
        later.confirm(path.rsplit("/", 1)[1])
    assert caught.value.code == "link_expired"
    assert Subscriber.get().confirmed is None


def test_a_subscriber_from_before_confirmations_is_asked_at_the_first_reply(site):
    """A comment that ticked "notify me" before migration 10: no subscriber row. The first
    reply sends it a confirmation instead of the reply; after it, replies are mailed."""
    s = site()
    with connection(), write_transaction():
        thread = Thread.create(uri="/post/")
        old = Comment.create(
            thread=thread, text="old", html="<p>old</p>", author="Pat", email=PAT, notify=True
        )
    s.client.post_comment(text="First reply", author="Rob", parent=old.id)
    assert subjects(s, PAT) == ["Confirm your notifications from blog.example.com"]
    confirm(s, PAT)
    s.client.post_comment(text="Next reply", author="Rob", parent=old.id)
    assert subjects(s, PAT) == ["Rob replied to your comment on /post/"]


# -- the thread subscription -----------------------------------------------------------------


def test_every_new_comment_in_the_thread_and_its_one_click_unsubscribe(site):
    s = site(mail__admin="")
    mine = ask(s, notify=True, notify_thread=True)
    assert mine["notifications"] == "unconfirmed"
    confirm(s, PAT)
    s.client.post_comment(text="Top-level news", author="Ann", email="ann@example.com")
    s.client.post_comment("/other/", text="Elsewhere", author="Ann")
    (told,) = s.mails(PAT)
    assert told.message["Subject"] == "Ann commented on /post/"
    assert "Top-level news" in body(told)
    assert "ann@example.com" not in told.raw.decode()

    s.mailbox.received.clear()
    s.client.post_comment(text="A reply", author="Rob", parent=mine["comment"]["id"])
    assert subjects(s, PAT) == ["Rob replied to your comment on /post/"]  # one mail, not two
    s.mailbox.received.clear()
    ask(s, text="My own new comment", notify=False)
    assert s.mails(PAT) == []  # nobody is told of their own comment

    s.client.post_comment(text="More news", author="Ann")
    (told,) = s.mails(PAT)
    url = told.message["List-Unsubscribe"].strip("<>")
    res = s.client.request(  # a mail program's RFC 8058 POST: no cookie, no Origin, no token
        "POST",
        path_of(url),
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status == 200
    s.mailbox.received.clear()
    s.client.post_comment(text="Even more news", author="Ann")
    s.client.post_comment(text="Another reply", author="Rob", parent=mine["comment"]["id"])
    assert s.mails(PAT) == []
    assert ask(s, text="Still me", notify=False)["notifications"] is None
    assert ask(s, text="Me, asking again", notify_thread=True)["notifications"] == "confirmed"


def test_the_thread_box_needs_an_email_and_the_form_without_javascript_has_it(site):
    s = site()
    refused = s.client.post_comment(text="x", notify_thread=True)
    assert (refused.status, refused.error_code) == (400, "email_required")
    assert refused.json["error"]["field"] == "notify_thread"
    assert s.client.get("/api/config").json["thread_notifications"] is True
    fragment = s.client.get("/html/thread", query={"uri": "/post/"})
    assert b'name="notify_thread" value="1"' in fragment.raw
    form = "uri=%2Fpost%2F&text=No+script&email=pat%40example.com&notify_thread=1"
    posted = s.client.request(
        "POST",
        "/html/comments",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": PUBLIC},
    )
    assert posted.status == 303
    assert Comment.get(Comment.text == "No script").notify_thread
    assert subjects(s, PAT) == ["Confirm your notifications from blog.example.com"]


# -- headers, on the raw bytes ---------------------------------------------------------------


def test_every_mail_has_a_date_and_a_plain_one_click_list_unsubscribe(site):
    s = site()
    parent = ask(s)["comment"]["id"]
    confirm(s, PAT)
    s.client.post_comment(text="A reply", author="Rob", parent=parent)
    (told,) = s.mails(PAT)
    lines = headers_of(told.raw)
    unsubscribe = [h for h in lines if h.startswith(b"List-Unsubscribe:")]
    assert len(unsubscribe) == 1
    assert re.fullmatch(
        rb"List-Unsubscribe: <https://comments\.example\.com/unsubscribe/\S+>", unsubscribe[0]
    )
    assert b"=?" not in unsubscribe[0]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    for got in s.mailbox.received + s.mails(ADMIN):
        dates = [h for h in headers_of(got.raw) if h.startswith(b"Date:")]
        assert len(dates) == 1, got.message["Subject"]
        sent = email.utils.parsedate_to_datetime(dates[0][5:].decode().strip())
        assert abs(sent - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)

    url = unsubscribe[0].split(b"<", 1)[1].rstrip(b">").decode()
    res = s.client.request(
        "POST",
        path_of(url),
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status == 200
    assert not Comment.get_by_id(parent).notify


# -- the admin's digest ----------------------------------------------------------------------


def digest_site(site, kind="hourly"):
    s = site(mail__admin_digest=kind, moderation__mode="links")
    held = s.client.post_comment(text="See http://x.example", author="Linker").json
    new = s.client.post_comment(text="Plain and good", author="Ada").json
    start, end = last_period(kind, utcnow())
    with connection(), write_transaction():
        Comment.update(created=start + dt.timedelta(minutes=1)).execute()
    return s, end, held["comment"]["id"], new["comment"]["id"]


def test_the_digest_replaces_the_mail_per_comment_and_goes_out_once(site):
    s, now, held, _ = digest_site(site)
    with connection():
        assert outbox.counts()["pending"] == 0  # no mail per comment
    with connection():
        claimed = AdminDigest(s.config).run(now)
        assert claimed.comments == 2
        assert AdminDigest(s.config).run(now) is None  # another process, later: nothing
        assert AdminDigest(s.config).run(now + dt.timedelta(minutes=59)) is None
    (digest,) = s.mails(ADMIN)
    assert (
        digest.message["Subject"] == "1 held and 1 new comments on blog.example.com (hourly digest)"
    )
    text = body(digest)
    assert text.index("Held for moderation (1):") < text.index("See http://x.example")
    assert text.index("New (1):") < text.index("Plain and good")
    assert f"Thread: https://blog.example.com/post/#c{held}" in text
    assert "Date:" in digest.raw.decode()
    approve = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Approve: ")]
    assert len(approve) == 1  # only the held comment can be approved
    done = s.client.post(path_of(approve[0]), headers={"Origin": PUBLIC})
    assert done.status == 200
    assert Comment.get_by_id(held).status == Status.APPROVED
    assert set(links_in(text)) == {"Approve", "Delete", "Mark as spam"}


def test_the_digest_is_sent_by_the_outbox_worker_and_never_twice_across_workers(site):
    s, _, _, _ = digest_site(site, "daily")

    def worker() -> None:
        with connection():
            outbox.Worker(s.config).run_once()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (digest,) = s.mailbox.to(ADMIN)  # one worker claimed the day and sent its mail
    assert digest.message["Subject"].endswith("(daily digest)")
    with connection():
        assert DigestPeriod.select().count() == 1


def test_an_empty_period_sends_nothing(site):
    s = site(mail__admin_digest="hourly")
    with connection():
        assert AdminDigest(s.config).run(utcnow()).comments == 0
    assert s.mails(ADMIN) == []


def test_the_periods_are_whole_utc_hours_and_days():
    at = dt.datetime(2026, 11, 28, 10, 15, 30)
    assert last_period("hourly", at) == (
        dt.datetime(2026, 11, 28, 9),
        dt.datetime(2026, 11, 28, 10),
    )
    assert last_period("daily", at) == (dt.datetime(2026, 11, 27), dt.datetime(2026, 11, 28))


def test_a_privacy_erase_forgets_the_opt_in_and_its_link(site):
    from commentd.services import privacy

    s = site()
    ask(s)
    path = confirmation_path(s, PAT)
    with connection():
        assert privacy.export(PAT)["subscription"] == {
            "asked": privacy.export(PAT)["subscription"]["asked"],
            "confirmed": None,
        }
        privacy.delete("PAT@example.com", "erase", CLI)
        assert Subscriber.select().count() == 0
    assert s.client.post(path).status == 404


@pytest.mark.parametrize(("fetch_site", "status"), [("same-origin", 200), ("cross-site", 403)])
def test_a_link_page_button_posts_with_origin_null_from_its_own_page(site, fetch_site, status):
    """The link pages send no Referer, so Chromium's form post says ``Origin: null``; its
    ``Sec-Fetch-Site`` tells whether it came from the page itself."""
    s = site()
    ask(s)
    path = confirmation_path(s, PAT)
    res = s.client.post(path, headers={"Origin": "null", "Sec-Fetch-Site": fetch_site})
    assert res.status == status
    assert (Subscriber.get().confirmed is not None) == (status == 200)
