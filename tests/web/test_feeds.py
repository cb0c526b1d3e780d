"""The Atom feeds and ``GET /api/recent``, read as a feed reader and a widget read them."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET

import feedparser
import pytest

from commentd.services.audit import Actor
from commentd.services.i18n import translator
from commentd.services.moderation import ModerationService
from commentd.storage.database import connection
from commentd.storage.models import Comment
from commentd.web.atom import xml_text

CLI = Actor("cli", "tester")
ATOM = "{http://www.w3.org/2005/Atom}"
EMAIL = "ada.secret@example.org"
HOSTILE = '<script>alert(1)</script> ]]> & "q"'


@pytest.fixture
def site(serve, make_app, make_config):
    def build(**settings):
        config = make_config(
            **{
                "site.url": "https://blog.example.com",
                "server.public_url": "https://comments.example.com",
                "cache.max_age": "30s",
                **settings,
            }
        )
        return serve(make_app(config)), config

    return build


def post(client, uri="/post/", **fields):
    res = client.post_comment(uri, **fields)
    assert res.status == 201, res.raw
    return res.json["comment"]


def feed(client, path="/feed/thread.atom", **query):
    res = client.get(path, query=query or None)
    assert res.status == 200, res.raw
    assert res.header("Content-Type") == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(res.raw)  # noqa: S314 (our own output): well-formed XML
    assert root.tag == f"{ATOM}feed"
    return res, feedparser.parse(res.raw)


def test_a_thread_feed_names_every_field(site):
    client, config = site()
    first = post(
        client, author="Ada", email=EMAIL, website="ada.example", text="*one*", title="My post"
    )
    second = post(client, text="two")
    res, parsed = feed(client, uri="/post/")
    assert not parsed.bozo, parsed.bozo_exception
    f = parsed.feed
    assert f.title == "Comments on My post"
    assert f.id == f"{config.public_url}/feed/thread.atom?uri=/post/"
    links = {link.rel: link.href for link in f.links}
    assert links == {"self": f.id, "alternate": "https://blog.example.com/post/"}
    assert f.generator == "commentd"
    newest, oldest = parsed.entries
    assert newest.id.startswith("tag:blog.example.com,")
    assert newest.id.endswith(f":comment-{second['id']}")
    assert newest.author == "Anonymous"
    assert newest.title == "Anonymous on My post"
    assert oldest.title == "Ada on My post"
    assert oldest.author_detail.name == "Ada"
    assert oldest.author_detail.href == "https://ada.example"
    assert oldest.link == f"https://blog.example.com/post/#c{first['id']}"
    assert oldest.content[0].value == first["html"].strip()  # feedparser strips it
    root = ET.fromstring(res.raw)  # noqa: S314 (our own output)
    contents = root.findall(f"{ATOM}entry/{ATOM}content")
    assert [c.text for c in contents][1] == first["html"]  # exactly, once unescaped
    assert oldest.content[0].type == "text/html"
    assert oldest.published.startswith(first["created"][:19])
    assert oldest.updated == oldest.published
    assert f.updated == newest.updated
    assert EMAIL.encode() not in res.raw
    assert b"127.0.0.1" not in res.raw


def test_hostile_names_titles_and_text_still_give_a_well_formed_feed(site):
    client, _ = site()
    post(client, author=HOSTILE, title=HOSTILE, text=f"{HOSTILE}\n\n```\n]]>\n```")
    res, parsed = feed(client, uri="/post/")
    assert not parsed.bozo, parsed.bozo_exception
    assert b"<script>" not in res.raw
    (entry,) = parsed.entries
    assert entry.author == HOSTILE
    assert entry.title == f"{HOSTILE} on {HOSTILE}"
    assert parsed.feed.title == f"Comments on {HOSTILE}"


def test_characters_xml_cannot_carry_become_replacement_characters(site):
    client, _ = site()
    cid = post(client, text="clean")["id"]
    with connection():  # as an import or a direct write could have stored them
        Comment.update(author="a\x01b\x1fc", html="<p>x\x0b\ufffey</p>").where(
            Comment.id == cid
        ).execute()
    _res, parsed = feed(client, path="/feed/recent.atom")
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.entries[0].author == "a\ufffdb\ufffdc"
    assert xml_text("ok\tand\n") == "ok\tand\n"
    # a lone surrogate (SQLite cannot store one, a PostgreSQL import could)
    assert xml_text("a\ud800b\uffff") == "a\ufffdb\ufffd"


def test_only_approved_comments_are_in_the_feeds(site):
    client, config = site(moderation__mode="all")
    held = post(client, text="held")["id"]
    spam = post(client, text="spam")["id"]
    gone = post(client, text="gone")["id"]
    shown = post(client, text="shown")["id"]
    moderation = ModerationService(config)
    moderation.approve([gone, shown], CLI)
    moderation.mark_spam([spam], CLI)
    moderation.delete([gone], CLI)
    for path, query in (("/feed/thread.atom", {"uri": "/post/"}), ("/feed/recent.atom", {})):
        _, parsed = feed(client, path, **query)
        assert [e.id.rsplit("-", 1)[1] for e in parsed.entries] == [str(shown)]
    ids = [c["id"] for c in client.get("/api/recent").json["comments"]]
    assert ids == [shown]
    assert held


def test_an_unknown_thread_has_an_empty_feed(site):
    client, _ = site()
    _, parsed = feed(client, uri="/nobody/")
    assert parsed.entries == []
    assert parsed.feed.title == "Comments on /nobody/"


@pytest.mark.parametrize(
    "path", ["/feed/thread.atom?uri=/post/", "/feed/recent.atom", "/api/recent"]
)
def test_revalidation_gives_304_until_a_comment_is_approved(site, path):
    client, config = site(moderation__mode="all")
    post(client, text="first")
    ModerationService(config).approve([1], CLI)
    first = client.get(path)
    tag = first.header("ETag")
    assert tag
    assert first.header("Cache-Control") == "public, max-age=30"
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status == 304
    assert again.raw == b""
    held = post(client, text="held")["id"]
    assert client.get(path, headers={"If-None-Match": tag}).status == 304
    ModerationService(config).approve([held], CLI)
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status == 200
    assert changed.header("ETag") != tag
    ModerationService(config).delete([held], CLI)
    assert client.get(path, headers={"If-None-Match": changed.header("ETag")}).status == 200


@pytest.mark.parametrize("path", ["/feed/recent.atom", "/api/recent"])
def test_recent_reads_span_threads_newest_first(site, path):
    client, _ = site()
    for n in range(3):
        post(client, f"/p{n}/", text=f"c{n}", title=f"T{n}")
    res = client.get(path, query={"limit": "2"})
    if path == "/api/recent":
        comments = res.json["comments"]
        assert [(c["uri"], c["title"]) for c in comments] == [("/p2/", "T2"), ("/p1/", "T1")]
        assert comments[0]["permalink"] == f"https://blog.example.com/p2/#c{comments[0]['id']}"
        assert "email" not in comments[0]
    else:
        titles = [e.title for e in feedparser.parse(res.raw).entries]
        assert titles == ["Anonymous on T2", "Anonymous on T1"]


@pytest.mark.parametrize(
    "path", ["/feed/thread.atom?uri=/post/&", "/feed/recent.atom?", "/api/recent?"]
)
@pytest.mark.parametrize("limit", ["0", "101", "x", "", "-1", "1.5"])
def test_a_bad_limit_is_a_json_400(site, path, limit):
    client, _ = site()
    res = client.get(f"{path}limit={limit}")
    assert res.status == 400
    assert res.json["error"] == {**res.json["error"], "code": "invalid_value", "field": "limit"}


def test_a_thread_feed_needs_its_uri(site):
    client, _ = site()
    res = client.get("/feed/thread.atom")
    assert res.status == 400
    assert res.json["error"]["field"] == "uri"


def test_feeds_are_gzipped_and_carry_cors_headers(site):
    client, _ = site()
    post(client, text="x " * 400)
    origin = "https://blog.example.com"
    for path in ("/feed/thread.atom?uri=/post/", "/feed/recent.atom", "/api/recent"):
        res = client.get(path, headers={"Accept-Encoding": "gzip", "Origin": origin})
        assert res.header("Content-Encoding") == "gzip"
        assert gzip.decompress(res.raw)
        assert res.header("Access-Control-Allow-Origin") == "*"
        assert res.header("Vary") == "Accept-Encoding"


@pytest.mark.parametrize("lang", ["de", "ar", "zh-Hant"])
def test_feeds_speak_the_readers_language(site, lang):
    client, config = site()
    post(client, text="hallo", title="Mein Beitrag")
    t = translator(lang)
    _, thread = feed(client, uri="/post/", lang=lang)
    assert not thread.bozo, thread.bozo_exception
    assert thread.feed.title == t("feed_thread_title", title="Mein Beitrag")
    assert thread.feed.title != "Comments on Mein Beitrag"
    assert thread.feed.language == lang
    assert thread.entries[0].title == t(
        "feed_entry_title", author=t("anonymous"), title="Mein Beitrag"
    )
    assert thread.feed.id == f"{config.public_url}/feed/thread.atom?uri=/post/&lang={lang}"
    _, recent = feed(client, path="/feed/recent.atom", lang=lang)
    assert recent.feed.title == t("feed_recent_title", site="blog.example.com")
    # English stays the default, under its own cache entry
    _, english = feed(client, uri="/post/")
    assert english.feed.title == "Comments on Mein Beitrag"
