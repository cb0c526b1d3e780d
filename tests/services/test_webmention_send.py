"""Sending Webmentions (services/webmention_send.py): endpoint discovery modelled on the 23
discovery tests of webmention.rocks, the page's outgoing links, and delivery through the
outbox, all against real loopback sites."""

from __future__ import annotations

import pytest

from commentd.errors import CommentdError
from commentd.services import webmention_send
from commentd.services.fetch import FetchError, Limits
from commentd.services.outbox import Worker
from commentd.services.site import open_site
from commentd.storage.database import connection
from commentd.storage.models import OutboxMessage
from tests.pages import Answer, serving

LOOPBACK_OK = Limits(timeout=5, max_bytes=100_000, max_redirects=2, allow_private=True)


def html(body: str, head: str = "") -> Answer:
    return Answer(f"<!doctype html><html><head>{head}</head><body>{body}</body></html>")


def link_header(value: str, body: str = "<p>hi</p>", name: str = "Link") -> Answer:
    return Answer(
        f"<html><body>{body}</body></html>", headers={"Content-Type": "text/html", name: value}
    )


# (number, the target's pages by path, the endpoint's path expected); the target is /N
CASES = [
    (1, {"/1": link_header('<1/webmention>; rel="webmention"')}, "/1/webmention"),
    (2, {"/2": link_header('<{url}/2/webmention>; rel="webmention"')}, "/2/webmention"),
    (3, {"/3": html("", '<link rel="webmention" href="3/webmention">')}, "/3/webmention"),
    (4, {"/4": html("", '<link rel="webmention" href="{url}/4/webmention">')}, "/4/webmention"),
    (5, {"/5": html('<a rel="webmention" href="5/webmention">endpoint</a>')}, "/5/webmention"),
    (
        6,
        {"/6": html('<a rel="webmention" href="{url}/6/webmention">endpoint</a>')},
        "/6/webmention",
    ),
    (7, {"/7": link_header("<{url}/7/webmention>; rel=webmention", name="LinK")}, "/7/webmention"),
    (8, {"/8": link_header("<{url}/8/webmention>; rel=webmention")}, "/8/webmention"),
    (
        9,
        {"/9": html("", '<link rel="webmention somethingelse" href="9/webmention">')},
        "/9/webmention",
    ),
    (
        10,
        {"/10": link_header('<{url}/10/webmention>; rel="webmention somethingelse"')},
        "/10/webmention",
    ),
    (
        11,
        {
            "/11": link_header(
                '<{url}/11/webmention>; rel="webmention"',
                '<link rel="webmention" href="11/wrong"><a rel="webmention" href="11/wrong">',
            )
        },
        "/11/webmention",
    ),
    (
        12,
        {
            "/12": html(
                '<a rel="webmention" href="12/webmention">right</a>',
                '<link rel="not-webmention" href="12/wrong">',
            )
        },
        "/12/webmention",
    ),
    (
        13,
        {
            "/13": html(
                '<a rel="webmention" href="13/webmention">right</a>',
                '<!-- <link rel="webmention" href="13/wrong"> -->',
            )
        },
        "/13/webmention",
    ),
    (
        14,
        {
            "/14": html(
                '<code>&lt;a href="14/wrong" rel="webmention"&gt;&lt;/a&gt;</code>'
                '<a rel="webmention" href="14/webmention">right</a>'
            )
        },
        "/14/webmention",
    ),
    (15, {"/15": html("", '<link rel="webmention" href="">')}, "/15"),
    (
        16,
        {
            "/16": html(
                '<a rel="webmention" href="16/webmention">first</a>'
                '<link rel="webmention" href="16/wrong">'
            )
        },
        "/16/webmention",
    ),
    (
        17,
        {
            "/17": html(
                '<a rel="webmention" href="17/wrong">second</a>',
                '<link rel="webmention" href="17/webmention">',
            )
        },
        "/17/webmention",
    ),
    (
        18,
        {
            "/18": link_header(
                '<{url}/18/wrong>; rel="other"\n<{url}/18/webmention>; rel="webmention"'
            )
        },
        "/18/webmention",
    ),
    (
        19,
        {
            "/19": link_header(
                '<{url}/19/wrong>; rel="other", <{url}/19/webmention>; rel="webmention"'
            )
        },
        "/19/webmention",
    ),
    (
        20,
        {
            "/20": html(
                '<a rel="webmention" href="20/webmention">right</a>', '<link rel="webmention">'
            )
        },
        "/20/webmention",
    ),
    (
        21,
        {"/21": html("", '<link rel="webmention" href="21/webmention?query=yes">')},
        "/21/webmention?query=yes",
    ),
    (
        22,
        {"/test/22": html("", '<link rel="webmention" href="22/webmention">')},
        "/test/22/webmention",
    ),
    (
        23,
        {
            "/23": Answer("", 302, {"Location": "/23/page/"}),
            "/23/page/": link_header("<webmention-endpoint>; rel=webmention"),
        },
        "/23/page/webmention-endpoint",
    ),
]


@pytest.fixture
def target_site():
    with serving() as site:
        yield site


def _install(site, pages: dict[str, Answer]) -> None:
    base = site.url("")
    for path, answer in pages.items():
        body = answer.body.replace("{url}", base) if isinstance(answer.body, str) else answer.body
        headers = {name: value.replace("{url}", base) for name, value in answer.headers.items()}
        site.pages[path] = Answer(body, answer.status, headers)


@pytest.mark.parametrize(
    ("number", "pages", "expected"), CASES, ids=[f"rocks-{c[0]}" for c in CASES]
)
def test_discovery_finds_the_endpoint_like_webmention_rocks(target_site, number, pages, expected):
    _install(target_site, pages)
    target = target_site.url("/test/22" if number == 22 else f"/{number}")
    assert webmention_send.discover(target, LOOPBACK_OK) == target_site.url(expected)


def test_a_page_without_an_endpoint_has_none(target_site):
    target_site.pages["/plain"] = html('<a href="/webmention">no rel</a>')
    target_site.pages["/text"] = Answer(
        '<link rel="webmention" href="/x">', headers={"Content-Type": "text/plain"}
    )
    target_site.pages["/ftp"] = html('<link rel="webmention" href="ftp://example.com/wm">')
    for path in ("/plain", "/text", "/ftp"):
        assert webmention_send.discover(target_site.url(path), LOOPBACK_OK) is None


def test_a_target_at_a_private_address_is_refused_unless_allowed(target_site):
    target_site.pages["/1"] = link_header('<1/webmention>; rel="webmention"')
    guarded = Limits(timeout=5, max_bytes=100_000, max_redirects=2, allow_private=False)
    with pytest.raises(FetchError) as caught:
        webmention_send.discover(target_site.url("/1"), guarded)
    assert caught.value.code == "fetch_private_address"
    assert target_site.received == []


# -- the page's outgoing links ---------------------------------------------------------------

SITE = "https://blog.example.com"


def test_the_links_of_the_first_h_entrys_e_content_are_taken():
    page = """<html><body>
      <nav><a href="https://elsewhere.example/nav">nav</a></nav>
      <article class="h-entry">
        <a class="u-url" href="/post/">permalink</a>
        <div class="e-content">
          <p>See <a href="https://a.example/one#part">one</a>, <a href="/about">about</a>,
          <a href="https://blog.example.com/other/">another post</a>,
          <a href="mailto:me@example.com">mail</a>, <a href="https://a.example/one">again</a>
          <div><a href="//b.example/two">two</a></div></p>
          <img src="x.png"><br>
        </div>
        <a href="https://c.example/after-content">in the entry, after the content</a>
      </article>
      <div class="h-entry"><div class="e-content"><a href="https://d.example/">2nd</a></div></div>
    </body></html>"""
    assert webmention_send.outgoing_links(page, f"{SITE}/post/", SITE) == [
        "https://a.example/one",
        "https://b.example/two",
    ]


def test_without_e_content_the_entry_and_without_microformats_the_page():
    entry = '<a href="https://x.example/">out</a><div class="h-entry"><a href="https://y.example/">in</a></div>'
    assert webmention_send.outgoing_links(entry, f"{SITE}/p/", SITE) == ["https://y.example/"]
    plain = '<base href="https://base.example/dir/"><a href="rel">r</a><a href="https://z.example/">z</a>'
    assert webmention_send.outgoing_links(plain, f"{SITE}/p/", SITE) == [
        "https://base.example/dir/rel",
        "https://z.example/",
    ]


@pytest.mark.parametrize(
    ("url", "own"),
    [
        ("https://blog.example.com/post/", True),
        ("https://blog.example.com/", True),
        ("https://blog.example.com", True),
        ("https://blog.example.com/post/?x=1", True),
        ("http://blog.example.com/post/", False),
        ("https://blog.example.com:8443/post/", False),
        ("https://other.example/post/", False),
        ("https://blog.example.com.evil.example/", False),
    ],
)
def test_a_page_must_be_under_the_site_url(url, own):
    assert webmention_send.under_site(url, SITE) is own


# -- sending through the outbox ---------------------------------------------------------------


@pytest.fixture
def target():
    """Another site, on 127.0.0.2: the blog's links point there."""
    with serving("127.0.0.2") as site:
        yield site


@pytest.fixture
def blog(make_config):
    """(config, the blog's loopback site), with the database open and a connection."""
    with serving("127.0.0.1") as site:
        config = make_config(
            **{"webmention.allow_private_addresses": True, "site.url": site.url("/")}
        )
        open_site(config)
        with connection():
            yield config, site


def post_linking(site, targets) -> str:
    """Write the blog's /post/ with an h-entry linking to ``targets`` and to the blog itself."""
    links = "".join(f'<a href="{url}">link</a> ' for url in targets)
    site.pages["/post/"] = html(
        f'<article class="h-entry"><div class="e-content">{links}'
        f'<a href="{site.url("/about/")}">own</a></div></article>'
    )
    return site.url("/post/")


def test_send_queues_one_webmention_per_endpoint_and_the_worker_posts_it(blog, target):
    config, site = blog
    target.pages["/a"] = html("", '<link rel="webmention" href="/wm?token=1">')
    target.pages["/none"] = html("<p>no endpoint</p>")
    target.pages["/wm"] = Answer("", 202)
    source = post_linking(site, [target.url("/a"), target.url("/none"), target.url("/gone")])
    results = webmention_send.send(config, source)
    assert [(r.target, r.endpoint, r.queued) for r in results] == [
        (target.url("/a"), target.url("/wm?token=1"), True),
        (target.url("/none"), None, False),
        (target.url("/gone"), None, False),
    ]
    assert "404" in results[2].error
    assert Worker(config, steps=[]).run_once() == 1
    message = OutboxMessage.get()
    assert (message.kind, message.status, message.recipient) == (
        "webmention_send",
        "sent",
        target.url("/wm?token=1"),
    )
    posts = [r for r in target.received if r.method == "POST"]
    assert [(p.path, p.headers["Content-Type"]) for p in posts] == [
        ("/wm?token=1", "application/x-www-form-urlencoded")
    ]
    assert (
        posts[0].body
        == (
            f"source=http%3A%2F%2F127.0.0.1%3A{site.port}%2Fpost%2F"
            f"&target=http%3A%2F%2F127.0.0.2%3A{target.port}%2Fa"
        ).encode()
    )


def test_a_failing_endpoint_is_retried(blog, target):
    config, site = blog
    target.pages["/a"] = link_header("</wm>; rel=webmention")
    target.pages["/wm"] = Answer("broken", 500)
    webmention_send.send(config, post_linking(site, [target.url("/a")]))
    Worker(config, steps=[]).run_once()
    message = OutboxMessage.get()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "500" in message.last_error
    assert [r.path for r in target.received if r.method == "POST"] == ["/wm"]


def test_the_workers_lease_outlasts_a_webmention_post(make_config):
    config = make_config(**{"webmention.timeout": "30s", "mail.timeout": "2s"})
    assert Worker(config, steps=[]).lease == 4 * 30 + 5


def test_dry_run_discovers_and_queues_nothing(blog, target):
    config, site = blog
    target.pages["/a"] = link_header("</wm>; rel=webmention")
    results = webmention_send.send(config, post_linking(site, [target.url("/a")]), dry_run=True)
    assert [(r.endpoint, r.queued) for r in results] == [(target.url("/wm"), False)]
    assert OutboxMessage.select().count() == 0
    assert all(r.method == "GET" for r in target.received)


@pytest.mark.parametrize(
    ("site_url", "url", "code"),
    [
        ("", "https://blog.example.com/post/", "no_site_url"),
        ("https://blog.example.com", "https://other.example/post/", "not_own_page"),
        ("https://blog.example.com", "ftp://blog.example.com/post/", "not_own_page"),
    ],
)
def test_only_the_sites_own_pages_send(make_config, site_url, url, code):
    config = make_config(**{"site.url": site_url})
    with pytest.raises(CommentdError) as caught:
        webmention_send.send(config, url)
    assert caught.value.code == code


def test_a_missing_page_is_an_error(make_config):
    with serving("127.0.0.1") as blog:
        config = make_config(
            **{"webmention.allow_private_addresses": True, "site.url": blog.url("/")}
        )
        with pytest.raises(CommentdError) as caught:
            webmention_send.send(config, blog.url("/nope/"))
    assert caught.value.code == "page_unavailable"
