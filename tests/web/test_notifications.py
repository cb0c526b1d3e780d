"""Notifications as people meet them: comments posted over HTTP, mail read from a real SMTP
server, webhooks received by a real HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from commentd.services import outbox
from commentd.services.audit import Actor
from commentd.services.i18n import translator
from commentd.services.moderation import ModerationService
from commentd.services.notifications import Notifier
from commentd.services.site import open_site
from commentd.storage.database import connection, write_transaction
from commentd.storage.models import Comment, OutboxMessage, Status, Thread
from tests.services.test_mail import Mailbox, mailbox  # noqa: F401 - a fixture

ADMIN = "admin@blog.example.com"
BLOG = "https://blog.example.com"
PUBLIC = "https://comments.example.com"
CLI = Actor("cli", "tester")


@dataclass
class Site:
    client: object
    config: object
    mailbox: Mailbox

    def deliver(self) -> int:
        """Send what is due, as the worker started by ``commentd serve`` would."""
        with connection():
            return outbox.Worker(self.config).run_once()

    def mails(self, to: str):
        self.deliver()
        return self.mailbox.to(to)


@pytest.fixture
def site(serve, make_app, make_config, mailbox) -> Iterator:  # noqa: F811
    def build(**settings) -> Site:
        values = {**mailbox.settings(), "mail.admin": ADMIN, "server.public_url": PUBLIC}
        values.update({k.replace("__", "."): v for k, v in settings.items()})
        config = make_config(**values)
        return Site(serve(make_app(config)), config, mailbox)

    return build


def links_in(text: str) -> dict[str, str]:
    found = dict(re.findall(r"^(Approve|Delete|Mark as spam): (\S+)$", text, flags=re.M))
    return {label: url.split("/", 3)[3] for label, url in found.items()}  # as paths


def body(received) -> str:
    return received.message.get_content().replace("\r\n", "\n")


# -- the admin's mail ----------------------------------------------------------------------


def test_a_held_comment_mails_the_admin_with_one_click_links(site):
    s = site(moderation__mode="all")
    posted = s.client.post_comment(
        text="First!\nSecond line", author="Ada", email="ada@example.com", website="ada.example"
    ).json["comment"]
    (got,) = s.mails(ADMIN)
    message = got.message
    assert got.rcpt_tos == [ADMIN]
    assert message["From"] == "Blog comments <comments@blog.example.com>"
    assert message["To"] == ADMIN
    assert message["Subject"] == "Held comment by Ada on /post/"
    queued = outbox.payload_of(OutboxMessage.get())
    assert message["Message-ID"] == queued["message_id"]  # fixed when queued
    text = body(got)
    assert "First!\nSecond line" in text
    assert f"Thread: {BLOG}/post/#c{posted['id']}" in text
    links = links_in(text)
    assert set(links) == {"Approve", "Delete", "Mark as spam"}
    for label, path in links.items():
        assert path.startswith("moderate/")
        assert f"{s.config.public_url}/{path}" in text, label
    assert "ada@example.com" not in got.raw.decode()  # no commenter's email, no address
    assert "127.0.0" not in got.raw.decode()


def test_a_published_comment_mails_without_an_approve_link(site):
    s = site()
    s.client.post_comment(text="hello", author="Bo")
    (got,) = s.mails(ADMIN)
    assert got.message["Subject"] == "New comment by Bo on /post/"
    assert set(links_in(body(got))) == {"Delete", "Mark as spam"}


def test_no_mail_without_an_admin_or_a_server_or_for_spam(site, serve, make_app, make_config):
    s = site(mail__admin="")
    s.client.post_comment(text="no admin set")
    assert s.mails(ADMIN) == []

    s = site()
    bot = s.client.post_comment(text="bot!", homepage="http://spam.example")  # the honeypot
    assert Comment.get_by_id(bot.json["comment"]["id"]).status == Status.SPAM
    assert s.mails(ADMIN) == []
    assert outbox.counts() == {"pending": 0, "sent": 0, "failed": 0}

    config = make_config(**{"mail.admin": ADMIN})  # no [mail] host
    serve(make_app(config)).post_comment(text="no server")
    assert outbox.counts()["pending"] == 0


def test_following_the_approve_link(site):
    s = site(moderation__mode="all")
    cid = s.client.post_comment(text="hold me", author="Ada").json["comment"]["id"]
    path = "/" + links_in(body(s.mails(ADMIN)[0]))["Approve"]

    page = s.client.get(path)  # what a mail scanner does: nothing changes
    assert page.status == 200
    assert b"hold me" in page.raw
    assert b'<form method="post">' in page.raw
    assert Comment.get_by_id(cid).status == Status.PENDING
    assert s.client.thread().json["comments"] == []

    done = s.client.post(path, headers={"Origin": s.config.public_url})
    assert done.status == 200, done.raw
    assert b"approved" in done.raw
    assert [c["id"] for c in s.client.thread().json["comments"]] == [cid]

    ModerationService(s.config).mark_spam([cid], CLI)  # changed since
    again = s.client.post(path, headers={"Origin": s.config.public_url})
    assert again.status == 409
    assert b"link_used" in again.raw
    assert again.header("Content-Type").startswith("text/html")
    assert Comment.get_by_id(cid).status == Status.SPAM  # the used link changed nothing
    assert s.client.get(path).status == 409


def test_the_delete_and_spam_links(site):
    s = site()
    first = s.client.post_comment(text="delete me", author="A").json["comment"]["id"]
    second = s.client.post_comment(text="spam me", author="B").json["comment"]["id"]
    mails = s.mails(ADMIN)
    delete = "/" + links_in(body(mails[0]))["Delete"]
    spam = "/" + links_in(body(mails[1]))["Mark as spam"]
    assert s.client.post(delete).status == 200
    assert s.client.post(spam).status == 200
    assert Comment.get_by_id(first).status == Status.DELETED
    assert Comment.get_by_id(second).status == Status.SPAM


def test_a_hostile_name_cannot_add_headers(site):
    """Names and titles reach the database from importers too, unvalidated: the mail must
    still carry one To, one Subject and no Bcc."""
    s = site()
    notifier = Notifier(s.config, open_site(s.config).keys)
    with connection(), write_transaction():
        thread = Thread.create(uri="/evil/", title="Title\r\nBcc: evil@x")
        comment = Comment.create(
            thread=thread, text="hi", html="<p>hi</p>", author="Eve\r\nBcc: evil@x"
        )
        notifier.comment_created(comment)
    (got,) = s.mails(ADMIN)
    assert got.rcpt_tos == [ADMIN]
    assert got.message["Bcc"] is None
    assert got.message["Subject"] == "New comment by Eve Bcc: evil@x on Title Bcc: evil@x"
    headers = got.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc" not in headers


# -- reply notifications -------------------------------------------------------------------


def confirmation_path(s, address: str) -> str:
    """The path of the confirmation link in the last confirmation mail to ``address``."""
    found = [m for m in s.mails(address) if "/confirm/" in body(m)]
    assert found, [m.message["Subject"] for m in s.mailbox.to(address)]
    return "/" + re.search(r"(https?://\S+/confirm/\S+)", body(found[-1]))[1].split("/", 3)[3]


def confirm(s, address: str) -> None:
    """Follow the confirmation link ``address`` was mailed, and forget the mails so far."""
    assert s.client.post(confirmation_path(s, address)).status == 200
    s.mailbox.received.clear()


def reply_site(site, uri="/post/", **settings):
    """A site with Pat's comment asking for replies, Pat's address confirmed when the
    comment was published at once."""
    s = site(**settings)
    posted = s.client.post_comment(
        uri, text="parent", author="Pat", email="pat@example.com", notify=True
    ).json["comment"]
    if posted["status"] == "approved" and s.config.mail.reply_notifications:
        confirm(s, "pat@example.com")
    return s, posted["id"]


def test_a_reply_mails_the_parent_with_an_unsubscribe_link(site):
    s, parent = reply_site(site)
    reply = s.client.post_comment(
        text="I disagree", author="Rob", email="rob@example.com", parent=parent
    ).json["comment"]["id"]
    (got,) = s.mails("pat@example.com")
    message = got.message
    assert got.rcpt_tos == ["pat@example.com"]
    assert message["To"] == "Pat <pat@example.com>"
    assert message["Subject"] == "Rob replied to your comment on /post/"
    assert message["Message-ID"].endswith("@blog.example.com>")
    text = body(got)
    assert "I disagree" in text
    assert f"{BLOG}/post/#c{reply}" in text
    unsubscribe = re.search(r"(http\S+/unsubscribe/\S+)", text)[1]
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "rob@example.com" not in got.raw.decode()  # never the replier's address


def test_no_reply_mail_for_self_replies_pending_spam_or_unsubscribed_parents(site):
    s, parent = reply_site(site)
    s.client.post_comment(text="me again", email="PAT@example.com", parent=parent)  # self
    s.client.post_comment(text="bot", parent=parent, homepage="http://x.example")  # spam
    quiet = s.client.post_comment(text="no notify", email="q@example.com").json["comment"]["id"]
    s.client.post_comment(text="to quiet", email="r@example.com", parent=quiet)
    assert s.mails("pat@example.com") == []
    assert s.mails("q@example.com") == []

    s, parent = reply_site(site, "/quiet/", mail__reply_notifications=False)
    s.client.post_comment("/quiet/", text="reply", email="r@example.com", parent=parent)
    assert s.mails("pat@example.com") == []


def test_a_held_reply_mails_the_parent_only_once_approved(site):
    s, parent = reply_site(site, moderation__mode="first")
    ModerationService(s.config, open_site(s.config).events).approve([parent], CLI)
    confirm(s, "pat@example.com")  # asked once the comment that asked was approved
    reply = s.client.post_comment(text="held reply", email="new@example.com", parent=parent)
    reply_id = reply.json["comment"]["id"]
    assert reply.json["comment"]["status"] == "pending"
    assert s.mails("pat@example.com") == []
    ModerationService(s.config, open_site(s.config).events).approve([reply_id], CLI)
    (got,) = s.mails("pat@example.com")
    assert "held reply" in body(got)


def test_no_reply_mail_to_a_parent_that_is_not_approved(site):
    s, parent = reply_site(site, moderation__mode="all")
    # the parent's author replies to a pending comment through the API: not possible for
    # others, so approve the reply alone
    reply = s.client.post_comment(text="reply", email="r@example.com", parent=parent)
    ModerationService(s.config, open_site(s.config).events).approve(
        [reply.json["comment"]["id"]], CLI
    )
    assert Comment.get_by_id(parent).status == Status.PENDING
    assert s.mails("pat@example.com") == []


@pytest.mark.parametrize("one_click", [False, True], ids=["button", "one-click"])
def test_unsubscribe(site, one_click):
    s, parent = reply_site(site)
    other = s.client.post_comment(
        uri="/other/", text="elsewhere", email="pat@example.com", notify=True
    ).json["comment"]["id"]
    second = s.client.post_comment(
        text="again", author="Pat", email="Pat@Example.com", notify=True
    ).json["comment"]["id"]
    s.client.post_comment(text="reply", email="r@example.com", parent=parent)
    (got,) = s.mails("pat@example.com")
    path = "/" + got.message["List-Unsubscribe"].strip("<>").split("/", 3)[3]

    page = s.client.get(path)
    assert page.status == 200
    assert b"Unsubscribe" in page.raw
    assert Comment.get_by_id(parent).notify  # a GET changes nothing

    if one_click:  # what a mail program sends (RFC 8058): no Origin, a form body
        res = s.client.request(
            "POST",
            path,
            body="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        res = s.client.post(path, headers={"Origin": s.config.public_url})
    assert res.status == 200, res.raw
    assert b"no more reply notifications" in res.raw
    assert not Comment.get_by_id(parent).notify
    assert not Comment.get_by_id(second).notify  # every comment of that address here
    assert Comment.get_by_id(other).notify  # but not in other threads

    s.client.post_comment(text="another reply", email="r2@example.com", parent=parent)
    assert len(s.mails("pat@example.com")) == 1  # nothing new
    assert s.client.post(path).status == 200  # twice is harmless


# -- webhooks ------------------------------------------------------------------------------

SECRET = "webhook-secret-0123456789"


@dataclass
class Receiver:
    url: str
    requests: list[dict] = field(default_factory=list)
    status: int = 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"headers": dict(self.headers), "body": data})
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def verify(request: dict) -> dict:
    """What a receiver does: check the signature and the timestamp, then trust the body."""
    headers, raw = request["headers"], request["body"]
    timestamp = headers["X-Commentd-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    assert hmac.compare_digest(headers["X-Commentd-Signature"], "sha256=" + expected.hexdigest())
    assert abs(time.time() - int(timestamp)) < 300
    return json.loads(raw)


def hook_site(site, receiver, format_="json", **settings):
    return site(
        webhooks__urls=receiver.url, webhooks__secret=SECRET, webhooks__format=format_, **settings
    )


def test_webhook_events_are_signed_and_private(site, receiver):
    s = hook_site(site, receiver, mail__admin="")
    created = s.client.post_comment(text="*hi*", author="Ada", email="ada@example.com").json
    cid, token = created["comment"]["id"], created["token"]
    s.deliver()
    s.client.delete(f"/api/comments/{cid}", token=token)
    s.deliver()
    events = [verify(r) for r in receiver.requests]
    assert [e["event"] for e in events] == ["comment.created", "comment.deleted"]
    first = receiver.requests[0]["headers"]
    assert first["Content-Type"] == "application/json"
    assert first["User-Agent"].startswith("commentd/")
    assert first["X-Commentd-Event"] == "comment.created"
    comment = events[0]["comment"]
    assert comment == {
        "id": cid,
        "uri": "/post/",
        "parent": None,
        "author": "Ada",
        "html": "<p><em>hi</em></p>\n",
        "status": "approved",
        "created": comment["created"],
        "url": f"{BLOG}/post/#c{cid}",
    }
    raw = b"".join(r["body"] for r in receiver.requests)
    assert b"ada@example.com" not in raw
    assert b"127.0.0" not in raw


def test_a_forged_body_fails_verification(site, receiver):
    s = hook_site(site, receiver)
    s.client.post_comment(text="hi")
    s.deliver()
    (request,) = receiver.requests
    forged = {**request, "body": request["body"].replace(b"hi", b"ho")}
    with pytest.raises(AssertionError):
        verify(forged)


def test_comment_approved_event(site, receiver):
    s = hook_site(site, receiver, moderation__mode="all")
    cid = s.client.post_comment(text="held").json["comment"]["id"]
    ModerationService(s.config, open_site(s.config).events).approve([cid], CLI)
    s.deliver()
    events = [verify(r) for r in receiver.requests]
    assert [(e["event"], e["comment"]["status"]) for e in events] == [
        ("comment.created", "pending"),
        ("comment.approved", "approved"),
    ]


@pytest.mark.parametrize(
    ("format_", "check"),
    [
        ("slack", lambda b: set(b) == {"text"} and "New comment by Ada on /post/" in b["text"]),
        (
            "discord",
            lambda b: (
                b["content"].startswith("New comment by Ada on /post/")
                and b["allowed_mentions"] == {"parse": []}
            ),
        ),
        (
            "matrix",
            lambda b: b["msgtype"] == "m.text" and "<@everyone> & co" in b["body"],
        ),
    ],
)
def test_chat_formats(site, receiver, format_, check):
    s = hook_site(site, receiver, format_)
    s.client.post_comment(text="<@everyone> & co", author="Ada", email="ada@example.com")
    s.deliver()
    (request,) = receiver.requests
    sent = verify(request)
    assert check(sent), sent
    assert "ada@example.com" not in json.dumps(sent)
    if format_ == "slack":
        assert "&lt;@everyone&gt; &amp; co" in sent["text"]  # no Slack control sequences


def test_a_failing_receiver_is_retried(site, receiver):
    s = hook_site(site, receiver, outbox__retry_delay="1s", mail__admin="")
    receiver.status = 500
    s.client.post_comment(text="hi")
    s.deliver()
    (row,) = outbox.messages()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "500" in row.last_error
    receiver.status = 200
    time.sleep(1.1)  # the first retry is due after retry_delay
    s.deliver()
    (row,) = outbox.messages()
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]  # the same event


@pytest.mark.parametrize("lang", ["de", "ar", "zh-Hant"])
def test_a_reply_mail_is_in_the_language_of_the_page_its_reader_wrote_on(site, lang):
    s = site()
    parent = s.client.post_comment(
        text="parent", author="Pat", email="pat@example.com", notify=True, lang=lang
    ).json["comment"]["id"]
    (asked,) = s.mails("pat@example.com")  # the confirmation, in that language too
    assert asked.message["Subject"] == translator(lang)(
        "mail_confirm_subject", site="blog.example.com"
    )
    confirm(s, "pat@example.com")
    s.client.post_comment(text="Eine Antwort", author="Rob", parent=parent, lang="en")
    (got,) = s.mails("pat@example.com")
    t = translator(lang)
    assert got.message["Subject"] == t("mail_reply_subject", author="Rob", where="/post/")
    assert got.message["Subject"] != "Rob replied to your comment on /post/"
    text = body(got)
    assert t("mail_reply_why") in text
    assert "Eine Antwort" in text


def test_an_unknown_or_absent_language_mails_in_english_and_a_bad_one_is_refused(site):
    s = site()
    parent = s.client.post_comment(
        text="parent", author="Pat", email="pat@example.com", notify=True, lang="tlh"
    ).json["comment"]["id"]
    assert Comment.get_by_id(parent).lang == "en"
    confirm(s, "pat@example.com")
    s.client.post_comment(text="reply", author="Rob", parent=parent)
    (got,) = s.mails("pat@example.com")
    assert got.message["Subject"] == "Rob replied to your comment on /post/"
    refused = s.client.post_comment(text="x", lang=["de"])
    assert (refused.status, refused.error_code) == (400, "invalid_value")
    assert refused.json["error"]["field"] == "lang"
