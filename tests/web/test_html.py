"""Comments without JavaScript over real HTTP: the thread as an HTML fragment (semantic,
microformats read by mf2py, schema.org microdata, cached like the JSON read) and the plain
form's post (the JSON API's checks, a 303 to the blog page only, pages that keep what a reader
typed)."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import mf2py
import pytest

from commentd.services.i18n import translator
from commentd.services.metrics import CACHE
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status, Thread
from tests.xss import load_vectors

BLOG = "https://blog.example.com"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def site(serve, make_app, make_config):
    def build(**settings):
        config = make_config(**{"site.url": BLOG, **settings})
        return serve(make_app(config))

    return build


@pytest.fixture
def client(site):
    return site()


def fragment(client, uri="/post/", headers=None, **params):
    return client.get("/html/thread", query={"uri": uri, **params}, headers=headers)


def post_form(client, fields, headers=None):
    return client.post(
        "/html/comments", body=urlencode(fields, doseq=True), headers={**FORM, **(headers or {})}
    )


class Tree(HTMLParser):
    """Every element of a fragment as (tag, attrs, depth of <article> nesting)."""

    VOID = {"input", "meta", "link", "br", "img", "hr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None], int]] = []
        self.stack: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), self.stack.count("article")))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def find(self, tag, **attrs):
        return [
            a
            for t, a, _ in self.elements
            if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


# -- the fragment ----------------------------------------------------------------------------


def test_the_fragment_holds_the_approved_comments_nested_as_in_the_json(client):
    first = client.post_comment(text="First *one*", author="Ada", website="https://ada.example")
    first_id = first.json["comment"]["id"]
    reply = client.post_comment(text="A reply", author="Bob", parent=first_id)
    res = fragment(client)
    assert res.status == 200
    assert res.header("Content-Type") == "text/html; charset=utf-8"
    html = res.raw.decode()
    tree = Tree(html)
    articles = [(a["id"], depth) for t, a, depth in tree.elements if t == "article"]
    assert articles == [(f"c{first_id}", 0), (f"c{reply.json['comment']['id']}", 1)]
    # the same sanitized HTML as the JSON read
    data = client.thread().json
    assert data["comments"][0]["html"] in html
    assert data["comments"][0]["replies"][0]["html"] in html
    link = tree.find("a", rel="nofollow ugc")
    assert [a["href"] for a in link] == ["https://ada.example"]
    times = [a["datetime"] for a in tree.find("time") if "dt-published" in a["class"]]
    assert times == [data["comments"][0]["created"], data["comments"][0]["replies"][0]["created"]]
    permalinks = [
        a["href"]
        for t, a, _ in tree.elements
        if t == "a" and "cd-permalink" in (a.get("class") or "")
    ]
    assert permalinks == [
        f"{BLOG}/post/#c{first_id}",
        f"{BLOG}/post/#c{reply.json['comment']['id']}",
    ]
    assert "Comments (2)" in html
    assert tree.find("form", method="post")[0]["action"].endswith("/html/comments")


def test_microformats_as_mf2py_reads_them(client):
    ada = client.post_comment(text="Hello **there**", author="Ada", website="https://ada.example")
    client.post_comment(text="Hi", author="Bob", parent=ada.json["comment"]["id"])
    html = fragment(client).raw.decode()
    parsed = mf2py.parse(doc=f"<div class='h-entry'>{html}</div>", url=f"{BLOG}/post/")
    comments = parsed["items"][0]["properties"]["comment"]
    assert len(comments) == 1
    first = comments[0]
    assert first["type"] == ["h-cite"]
    props = first["properties"]
    author = props["author"][0]
    assert author["type"] == ["h-card"]
    assert author["properties"]["name"] == ["Ada"]
    assert author["properties"]["url"] == ["https://ada.example"]
    assert f"{BLOG}/post/#c{ada.json['comment']['id']}" in props["url"]
    assert props["published"][0][:10] == ada.json["comment"]["created"][:10]
    assert props["content"][0]["html"].strip() == ada.json["comment"]["html"].strip()
    reply = props["comment"][0]["properties"]
    assert reply["author"][0]["properties"]["name"] == ["Bob"]


def test_schema_org_microdata(client):
    ada = client.post_comment(text="Hello", author="Ada")
    tree = Tree(fragment(client).raw.decode())
    scoped = [a for t, a, _ in tree.elements if a.get("itemtype") == "https://schema.org/Comment"]
    assert len(scoped) == 1
    props = {a["itemprop"] for t, a, _ in tree.elements if a.get("itemprop")}
    assert {"author", "name", "dateCreated", "text", "url", "upvoteCount"} <= props
    assert ada.status == 201


def test_held_comments_are_not_shown(site):
    held_site = site(**{"moderation.mode": "all"})
    held = held_site.post_comment(text="waiting for approval")
    assert held.json["comment"]["status"] == "pending"
    assert "waiting for approval" not in fragment(held_site).raw.decode()


def test_a_deleted_comment_with_replies_is_a_placeholder(client):
    kept = client.post_comment(text="parent")
    pid = kept.json["comment"]["id"]
    client.post_comment(text="child", parent=pid)
    assert client.delete(f"/api/comments/{pid}", token=kept.json["token"]).status == 200
    html = fragment(client).raw.decode()
    assert "<p>parent</p>" not in html
    assert "Deleted comment" in html
    assert "<p>child</p>" in html


def test_the_email_never_appears(client):
    client.post_comment(text="hi", author="Ada", email="ada@private.example")
    assert b"private.example" not in fragment(client).raw


def test_paging_with_plain_links(client):
    ids = [client.post_comment(text=f"Comment {n}").json["comment"]["id"] for n in range(5)]
    first = fragment(client, limit="2")
    tree = Tree(first.raw.decode())
    shown = [a["id"] for t, a, _ in tree.elements if t == "article"]
    assert shown == [f"c{ids[0]}", f"c{ids[1]}"]
    more = [a["href"] for t, a, _ in tree.elements if t == "a" and "cursor=" in a.get("href", "")]
    assert len(more) == 1
    parts = urlsplit(more[0])
    assert parts.path == "/html/thread"
    second = client.get(f"{parts.path}?{parts.query}")
    shown = [a["id"] for t, a, _ in Tree(second.raw.decode()).elements if t == "article"]
    assert shown == [f"c{ids[2]}", f"c{ids[3]}"]


def test_language(client):
    client.post_comment(text="hallo")
    german = fragment(client, lang="de-AT").raw.decode()
    assert 'lang="de"' in german
    assert "Kommentare (1)" in german
    assert "Kommentar senden" in german
    assert "Comments (1)" in fragment(client, lang="xx").raw.decode()


def test_bad_queries_are_json_400s(client):
    for params in ({"uri": "/p/", "limit": "0"}, {"uri": "/p/", "sort": "sideways"}, {}):
        res = client.get("/html/thread", query=params)
        assert res.status == 400
        assert res.error_code in ("invalid_value", "required")


def test_a_locked_thread_has_no_form(client):
    client.post_comment(text="old")
    assert "<form" in fragment(client).raw.decode()
    with connection():
        Thread.update(locked=True, version=Thread.version + 1).execute()
    html = fragment(client).raw.decode()
    assert "<form" not in html
    assert "Comments are closed." in html


# -- caching ---------------------------------------------------------------------------------


def test_cached_like_the_json_read(client):
    for n in range(8):
        client.post_comment(text=f"A comment long enough to be worth compressing, number {n}.")
    res = fragment(client)
    tag = res.header("ETag")
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert tag != client.thread().header("ETag")
    again = fragment(client, headers={"If-None-Match": tag})
    assert (again.status, again.raw) == (304, b"")
    hits = CACHE.value({"result": "hit"})
    packed = fragment(client, headers={"Accept-Encoding": "gzip"})
    assert packed.header("Content-Encoding") == "gzip"
    assert gzip.decompress(packed.raw) == res.raw
    assert CACHE.value({"result": "hit"}) == hits + 1
    assert "Accept-Encoding" in packed.header("Vary")
    client.post_comment(text="one more")
    changed = fragment(client, headers={"If-None-Match": tag})
    assert changed.status == 200
    assert "one more" in changed.raw.decode()


# -- hostile input ---------------------------------------------------------------------------

OWN_TAGS = {
    "section", "style", "link", "h2", "div", "article", "header", "span", "a", "time", "meta",
    "form", "input", "label", "small", "textarea", "p", "button",
}  # fmt: skip


@pytest.mark.parametrize(("vector_id", "payload"), load_vectors()[::7], ids=lambda v: str(v)[:30])
def test_xss_vectors_stay_text_in_the_fragment(client, vector_id, payload):
    client.post_comment(text=payload)
    client.post_comment(text="by", author=payload[:128])
    client.post_comment(text="site", website=payload[:512])
    html = fragment(client).raw.decode()
    tree = Tree(html)
    assert html.count("<style>") == 1
    for tag, attrs, _ in tree.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src", "action"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "vbscript:", "data:")), (tag, attrs)
        if tag not in OWN_TAGS:
            assert tag in {"em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "br",
                           "del", "h1", "h3", "h4", "h5", "h6", "hr"}, tag  # fmt: skip


# -- posting without JavaScript ----------------------------------------------------------------


def test_a_form_post_is_published_and_redirected_to_its_place_on_the_blog(client):
    res = post_form(client, {"uri": "/2026/hello/", "text": "From a form", "author": "Ada"})
    assert res.status == 303
    with connection():
        comment = Comment.get(Comment.text == "From a form")
    assert res.header("Location") == f"{BLOG}/2026/hello/#c{comment.id}"
    assert comment.author == "Ada"
    assert comment.status == Status.APPROVED
    assert "From a form" in fragment(client, "/2026/hello/").raw.decode()


def test_the_redirect_never_leaves_the_blog(client):
    for uri in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        res = post_form(
            client,
            {"uri": uri, "text": f"hi {uri}", "next": "https://evil.example/", "redirect": "//x"},
        )
        assert res.status == 303
        location = urlsplit(res.header("Location"))
        assert (location.scheme, location.netloc) == ("https", "blog.example.com")


def test_replies_and_notify_go_through_the_same_checks(client):
    parent = client.post_comment(text="parent").json["comment"]["id"]
    res = post_form(client, {"uri": "/post/", "text": "reply", "parent": str(parent)})
    assert res.status == 303
    with connection():
        assert Comment.get(Comment.text == "reply").parent_id == parent
    res = post_form(client, {"uri": "/post/", "text": "orphan", "parent": "999999"})
    assert res.status == 409  # as the JSON API answers it
    assert "The comment you are replying to no longer exists." in res.raw.decode()
    res = post_form(client, {"uri": "/post/", "text": "x", "notify": "1"})
    assert res.status == 400  # replies are notified to an email only
    assert "Enter your email address to be notified of replies." in res.raw.decode()


def test_a_refusal_is_a_page_in_the_readers_language_that_keeps_what_they_typed(client):
    res = post_form(
        client,
        {"uri": "/post/", "text": "", "author": 'Ada "<b>"', "website": "not a url", "lang": "de"},
    )
    assert res.status == 400
    assert res.header("Content-Type") == "text/html; charset=utf-8"
    page = res.raw.decode()
    assert page.startswith("<!doctype html>")
    assert '<html lang="de">' in page
    assert "Kommentar senden" in page
    assert 'value="Ada &quot;&lt;b&gt;&quot;"' in page
    assert "<b>" not in page
    with connection():
        assert Comment.select().count() == 0


def test_a_hostile_text_is_kept_escaped_in_the_refusal(site):
    strict = site(**{"comments.require_email": "true"})
    res = post_form(strict, {"uri": "/post/", "text": "</textarea><script>alert(1)</script>"})
    assert res.status == 400
    page = res.raw.decode()
    assert "<script>" not in page
    assert "&lt;/textarea&gt;&lt;script&gt;" in page


def test_a_held_comment_is_told_so(site):
    held = site(**{"moderation.mode": "all"})
    res = post_form(held, {"uri": "/post/", "text": "please approve"})
    assert res.status == 200
    assert "awaiting moderation" in res.raw.decode()
    with connection():
        assert Comment.get(Comment.text == "please approve").status == Status.PENDING


def test_the_honeypot_is_spam_that_looks_held(client):
    res = post_form(client, {"uri": "/post/", "text": "buy now", "homepage": "http://spam"})
    assert res.status == 200
    assert "awaiting moderation" in res.raw.decode()
    with connection():
        assert Comment.get(Comment.text == "buy now").status == Status.SPAM


def test_origins_are_checked_as_for_json_writes(client):
    refused = post_form(client, {"uri": "/post/", "text": "x"}, {"Origin": "https://evil.example"})
    assert refused.status == 403
    assert refused.header("Content-Type") == "text/html; charset=utf-8"
    allowed = post_form(client, {"uri": "/post/", "text": "y"}, {"Origin": BLOG})
    assert allowed.status == 303


def test_only_forms_are_taken(client):
    res = client.post("/html/comments", {"uri": "/post/", "text": "json"})
    assert res.status == 415
    bad = client.post("/html/comments", body=b"text=%ff", headers=FORM)
    assert bad.status == 400
    with connection():
        assert Comment.select().count() == 0


def test_without_a_site_url_the_demo_page_is_the_blog(serve, make_app, make_config):
    client = serve(make_app(make_config()))
    res = post_form(client, {"uri": "/demo/", "text": "hello demo"})
    assert res.status == 303
    assert urlsplit(res.header("Location")).path == "/"
    assert urlsplit(res.header("Location")).fragment.startswith("c")


@pytest.mark.parametrize(("lang", "direction"), [("ar", "rtl"), ("he-IL", "rtl"), ("fa", "rtl")])
def test_right_to_left_languages_lay_out_mirrored_and_text_keeps_its_direction(
    client, lang, direction
):
    client.post_comment(text="An English comment in a right-to-left thread")
    html = fragment(client, lang=lang).raw.decode()
    words = translator(lang)
    assert f'dir="{direction}"' in html.split(">", 1)[0]
    assert f"{words('title_label')} (1)" in html
    assert words("title_label") != "Comments"  # a real translation, not the English fallback
    assert '<div class="cd-body e-content" itemprop="text" dir="auto">' in html


def test_left_to_right_languages_say_so(client):
    assert 'dir="ltr"' in fragment(client, lang="de").raw.decode().split(">", 1)[0]
