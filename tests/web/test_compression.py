"""Compressed responses as a browser, proxy or CDN sees them: ``Content-Encoding: gzip`` when
the client takes it (``br`` for static files), an ETag per encoding, ``Vary:
Accept-Encoding``, empty 304s, and no compression where a secret sits beside a stranger's
text."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli
import pytest

from commentd.services.metrics import CACHE
from commentd.version import __version__
from commentd.web.compression import Compressor, accepts_gzip, with_vary

GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium sends
ONLY_GZIP = {"Accept-Encoding": "gzip, deflate"}  # what curl --compressed without brotli sends
DECODERS = {"gzip": gzip.decompress, "br": brotli.decompress}
STATIC = Path(__file__).resolve().parents[2] / "commentd" / "static"
LONG = "A comment long enough that a page of them is worth compressing. " * 4


def vary(res) -> list[str]:
    return [part.strip() for part in (res.header("Vary") or "").split(",") if part.strip()]


@pytest.fixture
def busy(client):
    """A thread whose JSON is well over 1 KB."""
    for n in range(6):
        assert client.post_comment(text=f"{LONG} #{n}").status == 201
    return client


def read(client, headers=None, method="GET"):
    return client.request(method, "/api/comments", query={"uri": "/post/"}, headers=headers)


def test_a_thread_read_is_gzipped_for_a_browser_and_plain_for_others(busy):
    plain = read(busy)
    packed = read(busy, GZIP)
    assert plain.status == packed.status == 200
    assert plain.header("Content-Encoding") is None
    assert packed.header("Content-Encoding") == "gzip"
    assert gzip.decompress(packed.raw) == plain.raw
    assert len(packed.raw) < len(plain.raw) / 3
    assert int(packed.header("Content-Length")) == len(packed.raw)
    assert json.loads(gzip.decompress(packed.raw))["thread"]["total"] == 6
    for res in (plain, packed):
        assert vary(res) == ["Accept-Encoding"]
        assert res.header("Content-Type") == "application/json"


def test_each_encoding_has_its_own_etag_and_304(busy):
    plain_tag = read(busy).header("ETag")
    packed_tag = read(busy, GZIP).header("ETag")
    assert plain_tag != packed_tag
    assert packed_tag.startswith('"')
    assert packed_tag.endswith('-gzip"')
    again = read(busy, {**GZIP, "If-None-Match": packed_tag})
    assert (again.status, again.raw, again.header("ETag")) == (304, b"", packed_tag)
    assert vary(again) == ["Accept-Encoding"]
    assert read(busy, {"If-None-Match": plain_tag}).status == 304
    # a tag of the other encoding names another representation: the body is sent
    assert read(busy, {"If-None-Match": packed_tag}).status == 200
    switched = read(busy, {**GZIP, "If-None-Match": plain_tag})
    assert (switched.status, switched.header("Content-Encoding")) == (200, "gzip")


def test_a_new_comment_changes_both_tags(busy):
    before = read(busy, GZIP)
    busy.post_comment(text="one more")
    after = read(busy, {**GZIP, "If-None-Match": before.header("ETag")})
    assert after.status == 200
    assert json.loads(gzip.decompress(after.raw))["thread"]["total"] == 7


def test_the_cached_thread_is_kept_compressed_and_served_from_the_cache(busy):
    first = read(busy, GZIP)
    hits = CACHE.value({"result": "hit"})
    misses = CACHE.value({"result": "miss"})
    second = read(busy, GZIP)
    plain = read(busy)
    assert second.raw == first.raw
    assert plain.raw == gzip.decompress(second.raw)
    assert CACHE.value({"result": "hit"}) == hits + 2
    assert CACHE.value({"result": "miss"}) == misses


def test_a_head_answers_the_headers_a_get_would(busy):
    get = read(busy, GZIP)
    head = read(busy, GZIP, method="HEAD")
    assert head.status == 200
    assert head.raw == b""
    for name in ("ETag", "Content-Encoding", "Content-Type"):
        assert head.header(name) == get.header(name), name
    assert "Accept-Encoding" in vary(head)


@pytest.mark.parametrize(
    ("header", "gzipped"),
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000, *", False),
        ("*;q=0", False),
        ("identity", False),
        ("br, zstd", False),
        ("gzip;q=nonsense", False),
        ("", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(header, gzipped):
    assert accepts_gzip({"HTTP_ACCEPT_ENCODING": header}) is gzipped


def test_small_bodies_are_sent_plain(client):
    client.post_comment(text="short")
    res = read(client, GZIP)
    assert res.status == 200
    assert res.header("Content-Encoding") is None
    assert res.json["thread"]["total"] == 1
    assert "Accept-Encoding" in vary(res)


def test_counts_are_compressed_too(client):
    uris = [f"/a-rather-long-post-address-{n}/" for n in range(60)]
    plain = client.get("/api/counts", query={"uri": uris})
    packed = client.get("/api/counts", query={"uri": uris}, headers=GZIP)
    assert packed.header("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(packed.raw)) == plain.json
    assert packed.header("ETag") != plain.header("ETag")


# -- static files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/js/embed.js",
        "/js/embed.css",
        "/js/i18n/de.json",
        "/admin/static/admin.css",
        "/js/count.js",
    ],
)
def test_static_files_are_compressed_once_with_their_own_etag(client, path):
    plain = client.get(path)
    assert plain.status == 200
    assert plain.header("Content-Encoding") is None
    for headers, coding in ((GZIP, "br"), (ONLY_GZIP, "gzip")):
        packed = client.get(path, headers=headers)
        assert packed.status == 200
        assert packed.header("Content-Encoding") == coding
        assert DECODERS[coding](packed.raw) == plain.raw
        assert len(packed.raw) < len(plain.raw)
        assert packed.header("ETag") == plain.header("ETag")[:-1] + f'-{coding}"'
        assert vary(packed) == vary(plain) == ["Accept-Encoding"]
        assert packed.header("Content-Type") == plain.header("Content-Type")
        again = client.get(path, headers={**headers, "If-None-Match": packed.header("ETag")})
        assert (again.status, again.raw) == (304, b"")
        assert again.header("ETag") == packed.header("ETag")
        assert client.get(path, headers=headers).raw == packed.raw  # compressed once, kept


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("br", "br"),
        ("gzip, br;q=0", "gzip"),
        ("br;q=0, *", "gzip"),
        ("*", "br"),
        ("identity", None),
        ("zstd", None),
    ],
)
def test_a_static_file_comes_in_the_best_coding_the_client_takes(client, accept, coding):
    res = client.get("/js/embed.js", headers={"Accept-Encoding": accept})
    assert res.header("Content-Encoding") == coding


def test_brotli_makes_the_embed_smaller_than_gzip(client):
    br, gz = (client.get("/js/embed.js", headers=h).raw for h in (GZIP, ONLY_GZIP))
    assert brotli.decompress(br) == gzip.decompress(gz)
    assert len(br) < len(gz)


def test_the_embed_is_sent_minified_and_small(client):
    source = (STATIC / "js" / "embed.js").read_bytes()
    res = client.get(f"/js/embed.js?v={__version__}", headers=ONLY_GZIP)
    sent = gzip.decompress(res.raw)
    assert len(sent) < len(source) * 0.85  # comments and indentation gone
    assert b"function" in sent
    assert b"textContent" in sent
    assert res.header("Cache-Control") == "public, max-age=31536000, immutable"
    assert res.header("Access-Control-Allow-Origin") == "*"
    assert res.header("Content-Type").startswith(("text/javascript", "application/javascript"))
    css = gzip.decompress(client.get("/js/embed.css", headers=ONLY_GZIP).raw)
    assert b"/*" not in css.replace(b"/*!", b"")  # no comments left but notices
    source = (STATIC / "js" / "i18n" / "ru.json").read_bytes()
    words = client.get("/js/i18n/ru.json", headers=ONLY_GZIP)
    sent = gzip.decompress(words.raw)
    assert json.loads(sent) == json.loads(source)  # the same words, not a byte of space more
    assert b"\n" not in sent
    assert b'": "' not in sent
    assert len(sent) < len(source) * 0.95


def test_if_modified_since_still_answers_304(client):
    res = client.get("/js/count.js")
    again = client.get("/js/count.js", headers={"If-Modified-Since": res.header("Last-Modified")})
    assert again.status == 304


def test_missing_static_files_are_a_json_404(client):
    res = client.get("/js/nothing.js", headers=GZIP)
    assert res.status == 404
    assert res.error_code == "not_found"


def test_an_unreadable_file_is_a_json_403(client, monkeypatch):
    from commentd.web import assets

    def refuse(path):  # what reading a file without read permission raises (not as root)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(assets, "prepared", refuse)
    res = client.get("/static/demo.css")
    assert res.status == 403
    assert res.error_code == "http_403"


def test_a_changed_file_is_read_again(client, tmp_path):
    from commentd.web.assets import Assets

    (tmp_path / "a.css").write_text("a { color: red; }  /* a comment */")
    files = Assets(tmp_path)
    first = files.get("a.css")
    assert first.body.plain == b"a{color:red}"
    (tmp_path / "a.css").write_text("b { color: blue; }")
    assert files.get("a.css").body.plain == b"b{color:blue}"
    assert files.get("../a.css") is None
    assert files.get("nothing.css") is None


# -- what is never compressed (BREACH) -----------------------------------------------------


def test_writes_are_never_compressed(client):
    res = client.post("/api/comments", {"text": LONG * 5}, query={"uri": "/post/"}, headers=GZIP)
    assert res.status == 201
    assert res.header("Content-Encoding") is None
    assert res.json["comment"]["html"].count("worth compressing") == 20


# -- the middleware for the rest of bottle's answers ---------------------------------------


def call(app, environ):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen.update(status=status, headers=headers)

    body = b"".join(Compressor(app)({"REQUEST_METHOD": "GET", **environ}, start_response))
    return seen["status"], dict(seen["headers"]), body


def wsgi_app(body: bytes, content_type="application/json", status="200 OK", extra=()):
    def app(environ, start_response):
        start_response(
            status,
            [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra],
        )
        return [body]

    return app


def test_the_middleware_gzips_public_json_and_html():
    body = json.dumps({"words": ["word"] * 500}).encode()
    for content_type in ("application/json", "text/html; charset=utf-8"):
        status, headers, sent = call(
            wsgi_app(body, content_type),
            {"PATH_INFO": "/api/config", "HTTP_ACCEPT_ENCODING": "gzip"},
        )
        assert status == "200 OK"
        assert headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(sent) == body
        assert headers["Content-Length"] == str(len(sent))
        assert headers["Vary"] == "Accept-Encoding"


@pytest.mark.parametrize(
    ("environ", "app"),
    [
        ({"PATH_INFO": "/admin/comments"}, wsgi_app(b"x" * 5000, "text/html")),
        ({"PATH_INFO": "/moderate/abc"}, wsgi_app(b"x" * 5000, "text/html")),
        ({"PATH_INFO": "/api/config", "REQUEST_METHOD": "POST"}, wsgi_app(b"x" * 5000)),
        ({"PATH_INFO": "/api/config"}, wsgi_app(b"x" * 5000, extra=[("Set-Cookie", "a=b")])),
        ({"PATH_INFO": "/api/config"}, wsgi_app(b"x" * 5000, status="404 Not Found")),
        ({"PATH_INFO": "/api/config"}, wsgi_app(b"x" * 5000, "image/png")),
        ({"PATH_INFO": "/api/config"}, wsgi_app(b"x" * 500)),
        ({"PATH_INFO": "/api/x"}, wsgi_app(b"x" * 5000, extra=[("ETag", '"t"')])),
    ],
)
def test_the_middleware_leaves_secrets_writes_and_the_rest_alone(environ, app):
    _status, headers, sent = call(app, {"HTTP_ACCEPT_ENCODING": "gzip", **environ})
    assert "Content-Encoding" not in headers
    assert sent.startswith(b"x")


def test_vary_fields_are_merged_into_one():
    assert with_vary([("Vary", "Origin"), ("A", "b")]) == [
        ("A", "b"),
        ("Vary", "Origin, Accept-Encoding"),
    ]
    assert with_vary([("vary", "accept-encoding")]) == [("Vary", "accept-encoding")]
    assert with_vary([]) == [("Vary", "Accept-Encoding")]
