"""The hot reads answered before bottle: the same bytes and headers as through bottle, counted
in the metrics, one render per new version however many readers ask at once."""

from __future__ import annotations

import threading

import pytest
from peewee import DatabaseError

from commentd.services.metrics import CACHE, HTTP_REQUESTS
from commentd.storage.database import database_proxy, kept_connection
from tests.conftest import DEFAULT_ORIGIN
from tests.wsgi import call


def through_bottle(app):
    """``app`` without its fast path: metrics -> fast path -> bottle's own callable."""
    return app.wsgi.wsgi.wsgi


@pytest.fixture
def app_with_thread(app, serve):
    client = serve(app)
    for n in range(3):
        assert client.post_comment("/post/", text=f"Comment *{n}*").status == 201
    assert client.post_comment("/other/").status == 201
    return app, client


COUNTS = {"uri": ["/post/", "/other/", "/none/"]}


@pytest.mark.parametrize(
    ("path", "query", "headers"),
    [
        ("/api/comments", {"uri": "/post/"}, {}),
        ("/api/comments", {"uri": "/post/", "sort": "newest", "limit": "2"}, {}),
        ("/api/comments", {"uri": "/post/"}, {"Origin": DEFAULT_ORIGIN}),
        ("/api/comments", {"uri": "/post/"}, {"Origin": "https://elsewhere.example"}),
        ("/api/comments", {"uri": "/never-commented/"}, {}),
        ("/api/counts", COUNTS, {}),
        ("/api/counts", COUNTS, {"Origin": DEFAULT_ORIGIN}),
        # errors: the fast path hands them to bottle
        ("/api/comments", {}, {}),
        ("/api/comments", {"uri": "/post/", "limit": "many"}, {}),
        ("/api/comments", {"uri": "/post/", "cursor": "not-a-cursor"}, {}),
    ],
)
def test_the_fast_path_answers_exactly_as_bottle_does(app_with_thread, path, query, headers):
    app, _ = app_with_thread
    fast = call(app, "GET", path, query, headers)
    slow = call(through_bottle(app), "GET", path, query, headers)
    assert fast == slow
    # and again, now from the response cache, and as a 304
    assert call(app, "GET", path, query, headers) == slow
    etag = dict(slow[1]).get("etag")
    if etag:
        conditional = {**headers, "If-None-Match": etag}
        fast_304 = call(app, "GET", path, query, conditional)
        assert fast_304 == call(through_bottle(app), "GET", path, query, conditional)
        assert fast_304[0] == "304 Not Modified"
        assert fast_304[2] == b""


def test_fast_answers_are_counted_under_their_route(app_with_thread):
    _, client = app_with_thread
    labels = {"method": "GET", "route": "/api/comments", "status": "200"}
    before = HTTP_REQUESTS.value(labels)
    assert client.thread("/post/").status == 200
    assert HTTP_REQUESTS.value(labels) == before + 1


def test_readers_of_a_new_version_wait_for_one_render(app_with_thread):
    _, client = app_with_thread
    assert client.post_comment("/post/", text="A new comment").status == 201
    before = {r: CACHE.value({"result": r}) for r in ("hit", "miss")}
    results = []

    def read():
        results.append(client.thread("/post/"))

    readers = [threading.Thread(target=read) for _ in range(8)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert [r.status for r in results] == [200] * 8
    assert len({r.raw for r in results}) == 1
    assert "A new comment" in results[0].raw.decode()
    assert CACHE.value({"result": "miss"}) - before["miss"] == 1
    assert CACHE.value({"result": "hit"}) - before["hit"] == 7


def test_counts_follow_new_comments_through_the_cache(app_with_thread):
    _, client = app_with_thread
    query = {"uri": ["/post/", "/other/"]}
    assert client.get("/api/counts", query=query).json["counts"] == {"/post/": 3, "/other/": 1}
    assert client.post_comment("/other/", text="Another").status == 201
    assert client.get("/api/counts", query=query).json["counts"] == {"/post/": 3, "/other/": 2}


def test_a_kept_connection_stays_open_and_a_database_error_closes_it(app):
    with kept_connection():
        pass
    assert not database_proxy.is_closed()
    with pytest.raises(ValueError, match="fault"), kept_connection():
        raise ValueError("not the database's fault")
    assert not database_proxy.is_closed()
    with pytest.raises(DatabaseError, match="went away"), kept_connection():
        raise DatabaseError("the database went away")
    assert database_proxy.is_closed()


def test_a_connection_the_database_dropped_is_replaced(app):
    """The reader never sees it: the fast path fails, bottle answers on a new connection."""
    assert call(app, "GET", "/api/comments", {"uri": "/post/"})[0] == "200 OK"
    database_proxy.connection().close()  # as a restarted database server would
    status, _, body = call(app, "GET", "/api/comments", {"uri": "/post/"})
    assert status == "200 OK", body
    assert call(app, "GET", "/api/counts", {"uri": "/post/"})[0] == "200 OK"
