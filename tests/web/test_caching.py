"""HTTP caching as a browser, proxy or CDN sees it: ETags, 304s, Cache-Control, the
response cache, and the versioned embed URL."""

from __future__ import annotations

import datetime as dt
import re
from http.client import HTTPConnection

import pytest

from commentd.services.audit import Actor
from commentd.services.metrics import CACHE
from commentd.services.moderation import ModerationService
from commentd.storage.database import connection
from commentd.storage.models import Comment, Thread, utcnow
from commentd.version import __version__
from commentd.web.caching import none_match

CLI = Actor("cli", "tester")


@pytest.fixture
def site(serve, make_app, make_config):
    """A client and config for an app with ``cache.max_age`` 30s plus the given settings."""

    def build(**settings):
        config = make_config(**{"cache.max_age": "30s", **settings})
        return serve(make_app(config)), config

    return build


@pytest.fixture
def client(site):
    return site()[0]


def read(client, uri="/post/", if_none_match=None, **params):
    """GET a thread page (``client.thread`` takes no headers), optionally conditional."""
    headers = {} if if_none_match is None else {"If-None-Match": if_none_match}
    return client.get("/api/comments", query={"uri": uri, **params}, headers=headers)


def etag(client, uri="/post/", **params) -> str:
    res = read(client, uri, **params)
    assert res.status == 200
    return res.header("ETag")


def cache_counts() -> dict[str, float]:
    return {result: CACHE.value({"result": result}) for result in ("hit", "miss", "not_modified")}


def delta(before: dict[str, float]) -> dict[str, float]:
    return {key: value - before[key] for key, value in cache_counts().items()}


# -- ETags and 304 -------------------------------------------------------------------------


def test_thread_reads_carry_a_strong_etag_stable_across_identical_reads(client):
    client.post_comment(text="hello")
    first = client.thread()
    assert first.status == 200
    tag = first.header("ETag")
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)  # strong: no W/
    assert first.header("Cache-Control") == "public, max-age=30"
    again = client.thread()
    assert again.header("ETag") == tag
    assert again.raw == first.raw


def test_unknown_threads_have_a_stable_etag(client):
    tag = etag(client, "/nobody/")
    assert tag == etag(client, "/nobody/")
    assert tag != etag(client, "/nobody-else/")
    res = read(client, "/nobody/", if_none_match=tag)
    assert res.status == 304


@pytest.mark.parametrize(
    "header",
    [
        "{tag}",
        'W/"nope", {tag}',
        '"nope",{tag} , "other"',
        "W/{tag}",
        "*",
    ],
)
def test_a_matching_if_none_match_answers_304_without_a_body(client, header):
    client.post_comment(text="hello")
    tag = etag(client)
    res = read(client, if_none_match=header.format(tag=tag))
    assert res.status == 304
    assert res.raw == b""
    assert res.header("ETag") == tag
    assert res.header("Cache-Control") == "public, max-age=30"
    assert res.header("Content-Length") in (None, "0")


def test_a_304_carries_only_the_headers_that_update_a_stored_response(client):
    """RFC 9110 15.4.5: the validators, Cache-Control and Vary; the security headers belong to
    the body, which the cache keeps with the headers it stored."""
    client.post_comment(text="hello")
    full = read(client)
    assert full.header("X-Content-Type-Options") == "nosniff"
    assert full.header("Referrer-Policy") == "strict-origin-when-cross-origin"
    res = read(client, if_none_match=full.header("ETag"))
    assert res.status == 304
    assert (res.header("ETag"), res.header("Vary")) == (
        full.header("ETag"),
        "Accept-Encoding",
    )
    assert res.header("X-Content-Type-Options") is None
    assert res.header("Referrer-Policy") is None


@pytest.mark.parametrize("header", ['"nope"', 'W/"nope", "other"', ""])
def test_a_different_if_none_match_gets_the_full_response(client, header):
    client.post_comment(text="hello")
    res = read(client, if_none_match=header)
    assert res.status == 200
    assert len(res.json["comments"]) == 1


def test_a_304_does_no_work_beyond_the_version_lookup(client):
    client.post_comment(text="hello")
    tag = etag(client)
    before = cache_counts()
    assert read(client, if_none_match=tag).status == 304
    assert delta(before) == {"hit": 0, "miss": 0, "not_modified": 1}


def test_304s_keep_the_connection_open(client):
    """A revalidating reader or proxy sends its 304s down one connection, not one each."""
    client.post_comment(text="hello")
    tag = etag(client)
    path = "/api/comments?uri=/post/"
    conn = HTTPConnection("127.0.0.1", client.port, timeout=30)
    try:
        conn.request("GET", path)
        first = conn.getresponse()
        body = first.read()
        assert first.status == 200
        assert b"hello" in body
        sock = conn.sock
        for _ in range(3):
            conn.request("GET", path, headers={"If-None-Match": tag})
            res = conn.getresponse()
            assert (res.status, res.read()) == (304, b"")
            assert res.getheader("Connection") is None
            assert res.getheader("Content-Length") is None
        conn.request("GET", path)
        last = conn.getresponse()
        assert (last.status, last.read()) == (200, body)
        assert conn.sock is sock  # the same TCP connection all along
        conn.request("GET", path, headers={"If-None-Match": tag, "Connection": "close"})
        closing = conn.getresponse()
        assert (closing.status, closing.getheader("Connection")) == (304, "close")
    finally:
        conn.close()


def test_sort_limit_and_cursor_give_different_etags(client):
    for i in range(3):
        client.post_comment(text=f"c{i}")
    cursor = client.thread(limit=1).json["cursor"]
    tags = [
        etag(client),
        etag(client, sort="newest"),
        etag(client, sort="top"),
        etag(client, limit=1),
        etag(client, limit=1, cursor=cursor),
    ]
    assert len(set(tags)) == len(tags)
    # spelled differently but the same query: the same ETag
    assert etag(client, sort="oldest", limit=50) == tags[0]


# -- the ETag follows every change readers can see ----------------------------------------


def _post(client, uri="/post/", **fields):
    res = client.post_comment(uri, **fields)
    assert res.status == 201, res.raw
    return res.json["comment"]["id"], res.json["token"]


def _vote(client, config, cid):
    with connection():
        Comment.update(voter="someone-else").where(Comment.id == cid).execute()
    assert client.post(f"/api/comments/{cid}/vote", {"value": 1}).status == 200


def _age(client, config, cid):
    with connection():
        Thread.update(created=utcnow() - dt.timedelta(days=31)).execute()


CHANGES = {
    "new comment": lambda client, config, cid, token: _post(client, text="another"),
    "edit": lambda client, config, cid, token: client.put(
        f"/api/comments/{cid}", {"text": "edited"}, token=token
    ),
    "delete": lambda client, config, cid, token: client.delete(f"/api/comments/{cid}", token=token),
    "vote": lambda client, config, cid, token: _vote(client, config, cid),
    "pin": lambda client, config, cid, token: ModerationService(config).pin(cid, True, CLI),
    "lock": lambda client, config, cid, token: ModerationService(config).lock("/post/", True, CLI),
    "lock_after": lambda client, config, cid, token: _age(client, config, cid),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_visible_change_changes_the_etag_and_the_body_at_once(site, change):
    client, config = site(moderation__lock_after="30d")
    cid, token = _post(client, text="first")
    before = client.thread()
    assert client.thread().status == 200  # now in the response cache
    CHANGES[change](client, config, cid, token)
    after = read(client, if_none_match=before.header("ETag"))
    assert after.status == 200
    assert after.header("ETag") != before.header("ETag")
    assert after.raw != before.raw


def test_approving_a_held_comment_changes_the_etag_and_holding_one_does_not(site):
    client, config = site(moderation__mode="all")
    held, _ = _post(client, text="first")
    ModerationService(config).approve([held], CLI)
    tag = etag(client)
    pending, _ = _post(client, text="waiting")
    assert read(client, if_none_match=tag).status == 304
    ModerationService(config).approve([pending], CLI)
    res = read(client, if_none_match=tag)
    assert res.status == 200
    assert len(res.json["comments"]) == 2


def test_a_held_first_comment_that_titles_the_thread_changes_the_etag(site):
    client, _ = site(moderation__mode="all")
    tag = etag(client)
    _post(client, text="first", title="A title")
    res = read(client, if_none_match=tag)
    assert res.status == 200
    assert res.json["thread"]["title"] == "A title"


def test_a_title_given_later_to_an_untitled_thread_changes_the_etag(site):
    client, _ = site(moderation__mode="all")
    _post(client, text="first, untitled")  # held: the thread exists, readers see no comment
    tag = etag(client)
    assert read(client, if_none_match=tag).status == 304
    _post(client, text="second, titled", title="A title")  # held too: only the title changed
    res = read(client, if_none_match=tag)
    assert res.status == 200
    assert res.json["thread"]["title"] == "A title"


# -- counts --------------------------------------------------------------------------------


def test_counts_etag_follows_the_requested_threads_only(client):
    _post(client, "/a/", text="a")
    query = {"uri": ["/a/", "/b/"]}
    first = client.get("/api/counts", query=query)
    tag = first.header("ETag")
    assert first.header("Cache-Control") == "public, max-age=30"
    assert client.get("/api/counts", query=query).header("ETag") == tag
    _post(client, "/elsewhere/", text="x")
    assert client.get("/api/counts", query=query, headers={"If-None-Match": tag}).status == 304
    _post(client, "/b/", text="b")
    res = client.get("/api/counts", query=query, headers={"If-None-Match": tag})
    assert res.status == 200
    assert res.json == {"counts": {"/a/": 1, "/b/": 1}}
    assert res.header("ETag") != tag


def test_counts_by_post_carry_the_same_headers_and_ignore_if_none_match(client):
    _post(client, "/a/", text="a")
    by_get = client.get("/api/counts", query={"uri": "/a/"})
    by_post = client.post("/api/counts", {"uris": ["/a/"]})
    assert by_post.header("ETag") == by_get.header("ETag")
    assert by_post.header("Cache-Control") == "public, max-age=30"
    again = client.post(
        "/api/counts", {"uris": ["/a/"]}, headers={"If-None-Match": by_get.header("ETag")}
    )
    assert again.status == 200
    assert again.json == {"counts": {"/a/": 1}}


def test_a_304_on_counts_has_no_body(client):
    tag = client.get("/api/counts", query={"uri": "/a/"}).header("ETag")
    res = client.get("/api/counts", query={"uri": "/a/"}, headers={"If-None-Match": tag})
    assert (res.status, res.raw, res.header("ETag")) == (304, b"", tag)


# -- Cache-Control -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"cache.max_age": "0s"}, "public, no-cache"),
        ({"cache.max_age": "1m"}, "public, max-age=60"),
        (
            {"cache.max_age": "10s", "cache.stale_while_revalidate": "1h"},
            "public, max-age=10, stale-while-revalidate=3600",
        ),
        ({"cache.stale_while_revalidate": "30s"}, "public, max-age=0, stale-while-revalidate=30"),
    ],
)
def test_cache_control_follows_the_config(serve, make_app, make_config, settings, expected):
    client = serve(make_app(make_config(**settings)))
    assert client.thread().header("Cache-Control") == expected
    assert client.get("/api/counts", query={"uri": "/x/"}).header("Cache-Control") == expected


def test_writes_and_client_config_are_never_stored(client):
    cid, token = _post(client, text="hi")
    responses = [
        client.post_comment(text="again"),
        client.put(f"/api/comments/{cid}", {"text": "edited"}, token=token),
        client.post("/api/preview", {"text": "x"}),
        client.post("/api/preview", {"text": ""}),
        client.delete(f"/api/comments/{cid}", token=token),
        client.get("/api/config"),
    ]
    for res in responses:
        assert res.header("Cache-Control") == "no-store", res.raw
        assert res.header("ETag") is None


def test_errors_carry_no_etag(client):
    res = client.thread(sort="sideways")
    assert res.status == 400
    assert res.header("ETag") is None
    assert res.header("Cache-Control") is None


def test_cors_exposes_the_etag_and_reads_are_the_same_for_every_origin(client):
    origin = {"Origin": "https://blog.example.com"}
    res = client.get("/api/comments", query={"uri": "/p/"}, headers=origin)
    assert "ETag" in res.header("Access-Control-Expose-Headers")
    assert res.header("Vary") == "Accept-Encoding"
    not_modified = client.get(
        "/api/comments",
        query={"uri": "/p/"},
        headers={**origin, "If-None-Match": res.header("ETag")},
    )
    assert not_modified.status == 304
    assert not_modified.header("Access-Control-Allow-Origin") == "*"
    assert not_modified.header("Vary") == "Accept-Encoding"


# -- the response cache --------------------------------------------------------------------


def test_repeated_reads_are_served_from_the_response_cache(client):
    for i in range(3):
        _post(client, text=f"c{i}")
    before = cache_counts()
    first = client.thread()
    second = client.thread()
    third = client.thread(sort="newest")
    assert delta(before) == {"hit": 1, "miss": 2, "not_modified": 0}
    assert second.raw == first.raw
    assert second.header("ETag") == first.header("ETag")
    assert second.header("Content-Type") == first.header("Content-Type") == "application/json"
    assert third.json["comments"][0]["html"] == "<p>c2</p>\n"


def test_the_response_cache_never_serves_an_old_version(client):
    cid, token = _post(client, text="first")
    client.thread()
    client.thread()
    client.put(f"/api/comments/{cid}", {"text": "changed"}, token=token)
    assert client.thread().json["comments"][0]["html"] == "<p>changed</p>\n"
    _post(client, text="second")
    assert len(client.thread().json["comments"]) == 2


def test_with_memory_0_the_response_cache_is_off(site):
    client, _ = site(cache__memory="0")
    _post(client, text="x")
    before = cache_counts()
    first, second = client.thread(), client.thread()
    assert delta(before) == {"hit": 0, "miss": 2, "not_modified": 0}
    assert first.raw == second.raw
    assert first.header("ETag") == second.header("ETag")
    assert read(client, if_none_match=first.header("ETag")).status == 304


# -- the versioned embed -------------------------------------------------------------------


def test_a_versioned_embed_url_is_immutable_and_others_are_not(client):
    versioned = client.get(f"/js/embed.js?v={__version__}")
    assert versioned.status == 200
    assert versioned.header("Cache-Control") == "public, max-age=31536000, immutable"
    plain = client.get("/js/embed.js")
    assert plain.header("Cache-Control") == "public, max-age=3600"
    assert plain.raw == versioned.raw
    other = client.get("/js/embed.js?v=0.0.0-not-this-one")
    assert other.header("Cache-Control") == "public, max-age=3600"
    css = client.get(f"/js/embed.css?v={__version__}")
    assert css.header("Cache-Control") == "public, max-age=31536000, immutable"


def test_a_tiny_response_cache_evicts_the_least_recently_used_page(site):
    client, _ = site(cache__memory="1000")  # room for one small page
    _post(client, "/a/", text="a")
    _post(client, "/b/", text="b")
    before = cache_counts()
    for uri in ("/a/", "/b/", "/a/", "/a/"):
        assert read(client, uri).status == 200
    assert delta(before) == {"hit": 1, "miss": 3, "not_modified": 0}


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        ('"t"', True),
        ('W/"t"', True),
        ('"a", W/"t"', True),
        ('"a","b"', False),
        ("*", True),
        ('"T"', False),
        ("t", False),
    ],
)
def test_if_none_match_parsing(header, matches):
    assert none_match(header, '"t"') is matches
