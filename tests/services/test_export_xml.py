"""WXR and Disqus exports: well-formed, shaped as their importers expect, and a round trip
(export, import into a fresh database, export again) gives the same file."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from itertools import count

import pytest

from commentd.errors import ValidationError
from commentd.services.audit import SYSTEM
from commentd.services.clients import Client
from commentd.services.comments import CommentService
from commentd.services.export import ExportCounts
from commentd.services.export_xml import disqus, wxr
from commentd.services.importers import Importer
from commentd.services.keys import Keys
from commentd.services.moderation import ModerationService
from commentd.services.site import open_site
from commentd.services.threads import ThreadService
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status, Thread

SITE = "https://blog.example.com"
NOW = dt.datetime(2026, 12, 1, 9, 30, 0)
WP = "{http://wordpress.org/export/1.2/}"
DSQ = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"

MARKDOWN = """Read [the docs](https://docs.example.org/a?b=1&c=2) & *this*:

- one
- two with `code`

```python
if a < b and c > d:
    print("]]> is fine")
```"""


def clock():
    """Times a few minutes apart, with microseconds (which the formats round to seconds)."""
    ticks = count()
    return lambda: dt.datetime(2025, 3, 1, 8, 0, 0, 123456) + dt.timedelta(minutes=next(ticks))


def build(config, holding) -> None:
    """A site with what a real one holds: titles, a locked thread, replies three deep, every
    status, unicode, Markdown, authors with and without email and website, v4 and v6.
    ``holding`` is the same site with ``moderation.mode = all``."""
    keys = Keys.from_secret(config.security.secret)
    tick = clock()
    post = CommentService(config, keys, clock=tick).create
    held = CommentService(holding, keys, clock=tick).create
    moderation = ModerationService(config)
    hello = "/2025/hello-world/"
    root = post(
        hello,
        {"text": MARKDOWN, "author": "Ann", "email": "ann@example.com", "title": "Hello & <you>"},
        Client("192.0.2.10"),
    ).comment
    reply = post(
        hello,
        {"text": "Thanks!\nSecond line.", "author": "Bob", "parent": root.id},
        Client("2001:db8:abcd:12::1"),
    ).comment
    deep = post(
        hello,
        {"text": "> quoted\n\nthird level", "parent": reply.id, "website": "https://c.example"},
        Client("198.51.100.7"),
    ).comment
    post(hello, {"text": "fourth, anonymous", "parent": deep.id}, Client("198.51.100.8"))
    uber = "/2025/%C3%BCber-uns/?lang=de"
    post(
        uber,
        {"text": "Schöne Grüße aus Köln 👋 — 日本語もOK", "author": "Jürgen", "title": "Über uns"},
        Client("203.0.113.5"),
    )
    held(uber, {"text": "Waiting for a moderator", "author": "Will"}, Client("203.0.113.6"))
    spam = post(uber, {"text": "Cheap watches", "author": "Buy Now"}, Client("203.0.113.7"))
    moderation.mark_spam([spam.comment.id], SYSTEM)
    gone = post(uber, {"text": "regret this", "author": "Gone"}, Client("203.0.113.8"))
    moderation.delete([gone.comment.id], SYSTEM)
    moderation.lock(uber, True, SYSTEM)
    post("/untitled/", {"text": "1. first\n2. second"}, Client("192.0.2.99"))
    # a reply on another thread, created before it: ids do not follow the threads
    post(hello, {"text": "late reply", "parent": root.id, "author": "Ann"}, Client("192.0.2.10"))


@pytest.fixture
def site(make_config):
    config = make_config(**{"site.url": SITE})
    open_site(config)
    with connection():
        build(config, make_config(**{"site.url": SITE, "moderation.mode": "all"}))
        yield config


def import_fresh(make_config, tmp_path, exported: str, fmt: str):
    """Import ``exported`` into a new, empty database; returns its config and the summary."""
    path = tmp_path / f"export.{fmt}.xml"
    path.write_text(exported, encoding="utf-8")
    fresh = make_config(
        **{"site.url": SITE, "database.url": f"sqlite:///{tmp_path / f'fresh-{fmt}.db'}"}
    )
    open_site(fresh)
    summary = Importer(fresh, Keys.from_secret(fresh.security.secret)).run(path, format=fmt)
    return fresh, summary


def renumber(xml: str, definitions: list[str], references: list[str]) -> str:
    """Ids replaced by their order of first definition, so two exports whose databases
    numbered rows differently compare equal when nothing else differs."""
    for definition, *refs in zip(definitions, references, strict=True):
        ids: dict[str, str] = {}
        for match in re.finditer(definition, xml):
            ids.setdefault(match[1], f"#{len(ids) + 1}")
        for pattern in (definition, *refs):
            xml = re.sub(pattern, lambda m, ids=ids: m[0].replace(m[1], ids.get(m[1], m[1])), xml)
    return xml


WXR_IDS = (
    [r"<wp:post_id>(\d+)</wp:post_id>", r"<wp:comment_id>(\d+)</wp:comment_id>"],
    [r"<wp:post_id>(\d+)</wp:post_id>", r"<wp:comment_parent>(\d+)</wp:comment_parent>"],
)


def parse(exported: str) -> ET.Element:
    """The export read by Python's own XML parser: it is well-formed or this raises."""
    return ET.fromstring(exported)  # noqa: S314 (our own output)


def shown(config, uri):
    def walk(nodes):
        return [(n.comment.author, n.comment.html, walk(n.replies)) for n in nodes]

    return walk(ThreadService(config).page(uri).comments)


class TestWxr:
    def test_is_wxr_as_wordpress_reads_it(self, site):
        counts = ExportCounts()
        root = parse("".join(wxr(site, counts, clock=lambda: NOW)))
        assert (root.tag, root.get("version")) == ("rss", "2.0")
        channel = root.find("channel")
        assert channel.findtext(WP + "wxr_version") == "1.2"
        assert channel.findtext(WP + "base_site_url") == SITE
        assert channel.findtext("pubDate") == "Tue, 01 Dec 2026 09:30:00 +0000"
        items = channel.findall("item")
        assert [i.findtext("link") for i in items] == [
            f"{SITE}/2025/hello-world/",
            f"{SITE}/2025/%C3%BCber-uns/?lang=de",
            f"{SITE}/untitled/",
        ]
        assert (counts.threads, counts.comments) == (3, 10)
        hello, uber, untitled = items
        assert [i.findtext("title") for i in items] == ["Hello & <you>", "Über uns", ""]
        assert [i.findtext(WP + "comment_status") for i in items] == ["open", "closed", "open"]
        for item in items:
            thread = Thread.get(Thread.id == int(item.findtext(WP + "post_id")))
            assert item.findtext(WP + "post_date_gmt") == thread.created.strftime("%F %T")
            assert (item.findtext(WP + "post_type"), item.findtext(WP + "status")) == (
                "post",
                "publish",
            )
            assert item.find("guid").get("isPermaLink") == "false"
        comments = {c.findtext(WP + "comment_id"): c for c in root.iter(WP + "comment")}
        for row in Comment.select():
            element = comments[str(row.id)]
            assert element.findtext(WP + "comment_content") == row.html.strip()
            assert element.findtext(WP + "comment_author") == (row.author or "")
            assert element.findtext(WP + "comment_author_email") == (row.email or "")
            assert element.findtext(WP + "comment_author_url") == (row.website or "")
            assert element.findtext(WP + "comment_author_IP") == (row.remote_addr or "")
            assert element.findtext(WP + "comment_date_gmt") == row.created.strftime("%F %T")
            assert element.findtext(WP + "comment_date") == row.created.strftime("%F %T")
            assert element.findtext(WP + "comment_parent") == str(row.parent_id or 0)
            assert element.findtext(WP + "comment_type") == "comment"
        approved = [c.findtext(WP + "comment_approved") for c in uber.iter(WP + "comment")]
        assert approved == ["1", "0", "spam", "trash"]
        assert len(list(hello.iter(WP + "comment"))) == 5
        assert len(list(untitled.iter(WP + "comment"))) == 1

    def test_round_trip_through_a_fresh_database_gives_the_same_file(
        self, site, make_config, tmp_path
    ):
        first = "".join(wxr(site, clock=lambda: NOW))
        before = {uri: shown(site, uri) for uri in ("/2025/hello-world/", "/untitled/")}
        fresh, summary = import_fresh(make_config, tmp_path, first, "wordpress")
        assert (summary.threads_created, summary.comments_imported, summary.skipped_total) == (
            3,
            10,
            0,
        )
        second = "".join(wxr(fresh, clock=lambda: NOW))
        assert renumber(second, *WXR_IDS) == renumber(first, *WXR_IDS)
        assert second != first  # the new database numbered the comments in the file's order
        # what readers see: the same authors, html (up to the outer newline) and nesting
        strip = lambda tree: [(a, h.strip(), strip(r)) for a, h, r in tree]  # noqa: E731
        after = {uri: shown(fresh, uri) for uri in before}
        assert {u: strip(t) for u, t in after.items()} == {u: strip(t) for u, t in before.items()}
        uber = Thread.get(Thread.uri == "/2025/%C3%BCber-uns/?lang=de")
        assert (uber.title, uber.locked) == ("Über uns", True)
        statuses = [c.status for c in uber.comments.order_by(Comment.id)]
        assert statuses == [Status.APPROVED, Status.PENDING, Status.SPAM, Status.DELETED]

    def test_needs_the_sites_url(self, make_config):
        config = make_config()
        open_site(config)
        with pytest.raises(ValidationError) as caught:
            wxr(config)
        assert caught.value.code == "no_site_url"


class TestDisqus:
    def test_is_shaped_as_a_disqus_export(self, site):
        Thread.create(uri="/nobody-yet/", title="No comments yet")
        counts = ExportCounts()
        root = parse("".join(disqus(site, counts, clock=lambda: NOW)))
        assert root.tag == DSQ + "disqus"
        category = root.find(DSQ + "category")
        assert (category.get(DSQ_ID), category.findtext(DSQ + "forum")) == (
            "1",
            "blog.example.com",
        )
        threads = root.findall(DSQ + "thread")
        assert [t.findtext(DSQ + "link") for t in threads] == [
            f"{SITE}/2025/hello-world/",
            f"{SITE}/2025/%C3%BCber-uns/?lang=de",
            f"{SITE}/untitled/",
            f"{SITE}/nobody-yet/",
        ]
        assert (counts.threads, counts.comments) == (4, 10)
        for element in threads:
            thread = Thread.get(Thread.id == int(element.get(DSQ_ID)))
            assert element.findtext(DSQ + "id") == thread.uri
            assert element.findtext(DSQ + "title") == (thread.title or "")
            assert element.findtext(DSQ + "createdAt") == thread.created.strftime("%FT%TZ")
            assert element.findtext(DSQ + "isClosed") == ("true" if thread.locked else "false")
            assert element.findtext(DSQ + "isDeleted") == "false"
            assert element.find(DSQ + "category").get(DSQ_ID) == "1"
        posts = root.findall(DSQ + "post")
        assert [int(p.get(DSQ_ID)) for p in posts] == sorted(c.id for c in Comment.select())
        for element in posts:
            row = Comment.get_by_id(int(element.get(DSQ_ID)))
            assert element.findtext(DSQ + "message") == row.html.strip()
            assert element.findtext(DSQ + "createdAt") == row.created.strftime("%FT%TZ")
            assert element.findtext(f"{DSQ}author/{DSQ}name") == (row.author or "")
            assert element.findtext(f"{DSQ}author/{DSQ}email") == (row.email or "")
            assert element.findtext(DSQ + "ipAddress") == (row.remote_addr or "")
            assert element.find(DSQ + "thread").get(DSQ_ID) == str(row.thread_id)
            parent = element.find(DSQ + "parent")
            assert (parent.get(DSQ_ID) if parent is not None else None) == (
                str(row.parent_id) if row.parent_id else None
            )
            flags = [element.findtext(DSQ + f) for f in ("isDeleted", "isSpam", "isApproved")]
            assert (
                flags
                == {
                    Status.APPROVED: ["false", "false", "true"],
                    Status.PENDING: ["false", "false", "false"],
                    Status.SPAM: ["false", "true", "true"],
                    Status.DELETED: ["true", "false", "true"],
                }[row.status]
            )

    def test_round_trip_through_a_fresh_database_gives_the_same_file(
        self, site, make_config, tmp_path
    ):
        Thread.create(uri="/nobody-yet/", title="No comments yet", locked=True)
        first = "".join(disqus(site, clock=lambda: NOW))
        fresh, summary = import_fresh(make_config, tmp_path, first, "disqus")
        assert (summary.threads_created, summary.comments_imported, summary.skipped_total) == (
            4,
            10,
            0,
        )
        second = "".join(disqus(fresh, clock=lambda: NOW))
        assert second == first  # byte for byte: ids are kept in the same order
        held = Comment.get(Comment.author == "Will")
        assert held.status == Status.PENDING


class TestXmlSafety:
    def test_text_the_database_holds_is_escaped_cdata_split_and_forbidden_characters_dropped(
        self, site
    ):
        row = Comment.get(Comment.author == "Bob")
        Comment.update(
            html="<p>a]]>b\x01c\x0bd\re\ufffe f</p>", author='<Bob & "Co"> ]]>\x02\r'
        ).where(Comment.id == row.id).execute()
        Thread.update(title="T ]]> & <x>\x1f").where(Thread.id == row.thread_id).execute()
        for writer, comment, body, author in (
            (wxr, WP + "comment", WP + "comment_content", WP + "comment_author"),
            (disqus, DSQ + "post", DSQ + "message", f"{DSQ}author/{DSQ}name"),
        ):
            exported = "".join(writer(site))
            root = parse(exported)
            element = next(
                e
                for e in root.iter(comment)
                if (e.get(DSQ_ID) or e.findtext(WP + "comment_id")) == str(row.id)
            )
            assert element.findtext(body) == "<p>a]]>bcd\re f</p>"
            assert element.findtext(author) == '<Bob & "Co"> ]]>\r'
            titles = [t.text for t in root.iter() if t.tag in ("title", DSQ + "title")]
            assert "T ]]> & <x>" in titles
