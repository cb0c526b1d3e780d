"""Publishing to followers: ``commentd fediverse publish`` (Create, then Update, once per
shared inbox, audited), ``commentd fediverse followers``, the blog's feed read by the
worker, and with ``publish_comments`` the blog's own comments as replies in the tree."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from commentd.cli import cli
from commentd.services import outbox
from commentd.services.audit import Actor
from commentd.services.fediverse.feed import FeedReader, parse_feed
from commentd.services.fediverse.publish import Publisher
from commentd.services.site import open_site
from commentd.storage.database import connection
from commentd.storage.models import AuditEntry, Comment, OutboxMessage
from tests.fediverse.conftest import BLOG
from tests.fediverse.remote import RemoteAccount
from tests.fediverse.test_inbox import post
from tests.pages import Answer, serving


@pytest.fixture
def run(database_url, monkeypatch):
    def invoke(config, *args: str, ok: bool = True):
        for key, value in {
            "DATABASE_URL": database_url,
            "SECURITY_SECRET": config.security.secret,
            "SITE_URL": config.site.url,
            "SERVER_PUBLIC_URL": config.server.public_url,
            "FEDIVERSE_ACCOUNT": config.fediverse.account,
        }.items():
            monkeypatch.setenv(f"COMMENTD_{key}", value)
        result = CliRunner().invoke(cli, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def delivered(site) -> list[dict]:
    return [json.loads(r.body) for r in site.received if r.method == "POST"]


def follow(client, account: RemoteAccount) -> None:
    actor = f"http://127.0.0.1:{client.port}/ap/actor"
    assert post(client, account, account.activity("Follow", actor))[0] == 202


def test_publish_sends_create_then_update_once_per_shared_inbox(
    fedi_config, make_app, serve, remote_site, run
):
    config = fedi_config()
    client = serve(make_app(config))
    grace, hedy = RemoteAccount(remote_site, "grace"), RemoteAccount(remote_site, "hedy")
    follow(client, grace)
    follow(client, hedy)
    with connection():
        OutboxMessage.delete().execute()  # the Accepts

    result = run(config, "fediverse", "publish", BLOG + "/2026/new/", "--title", "New post")
    assert result.output == f"{BLOG}/2026/new/  published  1 inboxes queued\n"
    with connection():
        assert outbox.Worker(config, steps=[]).run_once() == 1
        (entry,) = AuditEntry.select().where(AuditEntry.action == "publish")
        assert entry.actor == "cli"
    (create,) = delivered(remote_site)
    assert remote_site.received[-1].path == "/inbox"  # the shared inbox, once for both
    assert create["type"] == "Create"
    assert create["object"]["name"] == "New post"
    assert create["object"]["url"] == BLOG + "/2026/new/"
    article = client.get(create["object"]["id"].split(str(client.port), 1)[1]).json
    assert article["name"] == "New post"
    assert client.get("/ap/outbox").json["totalItems"] == 1

    result = run(config, "fediverse", "publish", BLOG + "/2026/new/", "--summary", "Now longer")
    assert "updated" in result.output
    with connection():
        outbox.Worker(config, steps=[]).run_once()
    update = delivered(remote_site)[-1]
    assert (update["type"], update["object"]["summary"]) == ("Update", "Now longer")
    assert update["object"]["name"] == "New post"

    listed = json.loads(run(config, "fediverse", "followers", "--json").output)
    assert [row["handle"] for row in listed] == [
        f"grace@127.0.0.1:{remote_site.port}",
        f"hedy@127.0.0.1:{remote_site.port}",
    ]


def test_publish_refuses_a_page_of_another_site(fedi_config, make_app, run):
    config = fedi_config()
    make_app(config)
    result = run(config, "fediverse", "publish", "https://elsewhere.example/x/", ok=False)
    assert result.exit_code == 1
    assert "must be a page of" in result.output


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>
{entries}
</feed>"""
ENTRY = """<entry><title>{title}</title><link href="{url}"/>
<summary type="html">&lt;p&gt;About {title}&lt;/p&gt;</summary>
<published>{date}</published></entry>"""


def atom(*posts: tuple[str, str, str]) -> str:
    return ATOM.format(entries="".join(ENTRY.format(title=t, url=u, date=d) for t, u, d in posts))


def test_the_feed_publishes_only_the_newest_entry_at_first_then_each_new_one(
    fedi_config, make_app, serve, remote_site
):
    with serving() as blog_site:
        config = fedi_config(
            **{"fediverse.feed_url": blog_site.url("/index.xml"), "site.url": blog_site.url("")}
        )
        client = serve(make_app(config))
        follow(client, RemoteAccount(remote_site, "grace"))
        old = [
            ("One", blog_site.url("/one/"), "2026-10-01T10:00:00Z"),
            ("Two", blog_site.url("/two/"), "2026-11-01T10:00:00Z"),
        ]
        blog_site.pages["/index.xml"] = Answer(
            atom(*old), headers={"Content-Type": "application/atom+xml"}
        )
        reader = FeedReader(config)
        now = dt.datetime(2026, 12, 4, 12, 0)
        with connection():
            assert reader(now) == [blog_site.url("/two/")]
            assert reader(now + dt.timedelta(minutes=5)) is None  # not due yet
            three = ("Three", blog_site.url("/three/"), "2026-12-04T10:00:00Z")
            blog_site.pages["/index.xml"].body = atom(*old, three)
            assert reader(now + dt.timedelta(minutes=16)) == [blog_site.url("/three/")]
            assert reader(now + dt.timedelta(minutes=32)) == []
            outbox.Worker(config, steps=[]).run_once()
        names = [a["object"]["name"] for a in delivered(remote_site) if a["type"] == "Create"]
        assert names == ["Two", "Three"]
        summaries = [
            a["object"]["summary"] for a in delivered(remote_site) if a["type"] == "Create"
        ]
        assert summaries == ["About Two", "About Three"]


def test_a_feed_that_cannot_be_read_publishes_nothing_and_is_read_again(
    fedi_config, make_app, serve
):
    with serving() as blog_site:
        config = fedi_config(
            **{"fediverse.feed_url": blog_site.url("/index.xml"), "site.url": blog_site.url("")}
        )
        make_app(config)
        blog_site.pages["/index.xml"] = Answer("<not xml", headers={"Content-Type": "text/xml"})
        now = dt.datetime(2026, 12, 4, 12, 0)
        with connection():
            assert FeedReader(config)(now) is None
            assert outbox.default_steps(config)[-1].__class__ is FeedReader


def test_rss_is_read_too():
    rss = b"""<rss version="2.0"><channel><title>B</title>
<item><title>Later</title><link>https://b.example/2/</link>
<pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate>
<description>&lt;b&gt;Two&lt;/b&gt;</description></item>
<item><title>Earlier</title><link>https://b.example/1/</link>
<pubDate>Sun, 01 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""
    entries = parse_feed(rss)
    assert [(e.title, e.url, e.summary) for e in entries] == [
        ("Earlier", "https://b.example/1/", ""),
        ("Later", "https://b.example/2/", "Two"),
    ]
    with pytest.raises(ValueError, match="neither Atom nor RSS"):
        parse_feed(b"<html/>")


def test_the_blogs_own_comments_go_out_as_replies_when_asked(
    fedi_config, make_app, serve, remote_site
):
    config = fedi_config(**{"fediverse.publish_comments": True, "moderation.mode": "all"})
    client = serve(make_app(config))
    grace = RemoteAccount(remote_site, "grace")
    follow(client, grace)
    moderation = open_site(config).moderation()  # its events publish the blog's comments
    with connection():
        Publisher(config).publish(BLOG + "/2026/hello/", "Hello")
    article = f"http://127.0.0.1:{client.port}/ap/posts/1"
    note = grace.note(article, "<p>From the Fediverse</p>")
    post(client, grace, grace.activity("Create", note))
    with connection():
        remote = Comment.get(Comment.kind == "fediverse")
        moderation.approve([remote.id], Actor("cli", "t"))
    answer = client.post_comment(
        "/2026/hello/", text="Thanks, *Grace*!", author="Ada", parent=remote.id
    )
    assert answer.status == 201, answer.raw
    mine = answer.json["comment"]["id"]
    with connection():
        OutboxMessage.delete().execute()
        moderation.approve([mine], Actor("cli", "t"))
        outbox.Worker(config, steps=[]).run_once()
    creates = [a for a in delivered(remote_site) if a["type"] == "Create"]
    (create,) = creates
    obj = create["object"]
    assert obj["id"] == f"http://127.0.0.1:{client.port}/ap/comments/{mine}"
    assert obj["inReplyTo"] == note["id"]
    assert obj["attributedTo"] == f"http://127.0.0.1:{client.port}/ap/actor"
    assert obj["content"] == "<p><strong>Ada</strong>:</p><p>Thanks, <em>Grace</em>!</p>"
    assert grace.id in create["cc"]
    assert client.get(f"/ap/comments/{mine}").json["id"] == obj["id"]
    # a reply to the blog's comment nests under it
    answer_note = grace.note(obj["id"], "<p>You're welcome</p>")
    post(client, grace, grace.activity("Create", answer_note))
    with connection():
        reply = Comment.get(Comment.text == "You're welcome")
        assert reply.parent_id == mine

    with connection():
        moderation.delete([mine], Actor("cli", "t"))
        outbox.Worker(config, steps=[]).run_once()
    assert delivered(remote_site)[-1]["type"] == "Delete"
    assert delivered(remote_site)[-1]["object"]["id"] == obj["id"]
    assert client.get(f"/ap/comments/{mine}").status == 404
