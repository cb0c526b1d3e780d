"""Every endpoint, every kind of bad input: a 4xx with the one JSON error shape, never a 500,
never a half-written row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commentd.storage.models import Comment, Thread, Vote

ENDPOINTS = [
    ("GET", "/api/comments?uri=/e/"),
    ("POST", "/api/comments?uri=/e/"),
    ("GET", "/api/comments/1"),
    ("PUT", "/api/comments/1"),
    ("DELETE", "/api/comments/1"),
    ("POST", "/api/comments/1/vote"),
    ("GET", "/api/counts?uri=/e/"),
    ("POST", "/api/counts"),
    ("POST", "/api/preview"),
    ("GET", "/api/config"),
    ("GET", "/health"),
]
WRITE_ENDPOINTS = [(m, p) for m, p in ENDPOINTS if m in ("POST", "PUT")]

BAD_BODIES = {
    "not json": b"{text: hello",
    "truncated": b'{"text": "hel',
    "nan": b'{"text": NaN}',
    "infinity": b'{"value": Infinity}',
    "invalid utf-8": b'{"text": "\xff\xfe"}',
    "lone surrogate": b'{"text": "\\ud800", "author": "\\udfff"}',
    "deep nesting": b"[" * 50_000 + b"]" * 50_000,
    "deep objects": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "huge integer": b'{"text": "x", "parent": ' + b"9" * 5000 + b"}",
    "null": b"null",
    "number": b"42",
    "string": b'"text"',
    "list": b'[{"text": "x"}]',
    "wrong types": json.dumps(
        {
            "text": ["x"],
            "author": {"a": 1},
            "email": 5,
            "website": True,
            "parent": 1.5,
            "notify": "yes",
            "title": [],
            "value": "up",
            "uris": {"a": 1},
        }
    ).encode(),
    "huge strings": json.dumps(
        {
            "text": "x" * 20_000,
            "author": "a" * 5000,
            "email": "e" * 5000 + "@x.org",
            "website": "https://" + "w" * 5000,
            "title": "t" * 5000,
        }
    ).encode(),
    "unicode edge cases": json.dumps(
        {
            "text": "\u202e\u200b\ufeff\U0001f4a9 \u0000",
            "author": "\u0007bell",
            "website": "https://exa\u200bmple.com",
            "email": "\U0001f4a9@example.com",
        },
        ensure_ascii=False,
    ).encode(),
    "empty": b"",
    "whitespace": b"   ",
}


def assert_error_shape(res, status=None):
    if status is None:
        assert res.status < 500, res.raw[:300]
    assert res.header("Content-Type").startswith("application/json")
    body = res.json
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"code", "message", "field"}
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    if status is not None:
        assert res.status == status


@pytest.fixture
def seeded(client):
    """A thread with one comment (id 1) that a stranger did not write."""
    created = client.post_comment("/e/", text="seed").json
    Comment.update(voter="someone-else").execute()
    return created["token"]


def snapshot():
    return (
        list(Thread.select().dicts()),
        list(Comment.select().dicts()),
        list(Vote.select().dicts()),
    )


@pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_bodies_are_4xx_and_change_nothing(client, seeded, method, path, name):
    before = snapshot()
    res = client.request(
        method,
        path,
        body=BAD_BODIES[name],
        headers={"Content-Type": "application/json"},
        token=seeded,
    )
    assert 400 <= res.status < 500, (res.status, res.raw[:300])
    assert_error_shape(res)
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_writes_need_json_content_type(client, seeded, method, path, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    res = client.request(method, path, body=b'{"text": "x"}', headers=headers, token=seeded)
    assert_error_shape(res, 415)
    assert res.error_code == "unsupported_media_type"


@pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
def test_body_over_the_limit_is_413(client, seeded, method, path):
    before = snapshot()
    body = json.dumps({"text": "x" * 70_000}).encode()
    res = client.request(
        method, path, body=body, headers={"Content-Type": "application/json"}, token=seeded
    )
    assert_error_shape(res, 413)
    assert res.error_code == "payload_too_large"
    assert snapshot() == before


def test_body_of_exactly_the_limit_is_accepted(client, config):
    limit = config.server.max_body_size

    def body_of(size: int) -> bytes:
        prefix = b'{"text": "x", "pad": "'
        return prefix + b"p" * (size - len(prefix) - 2) + b'"}'

    for size, status in ((limit, 200), (limit + 1, 413)):
        body = body_of(size)
        assert len(body) == size
        res = client.request(
            "POST",
            "/api/preview",
            body=body,
            headers={"Content-Type": "application/json", "Origin": "https://blog.example.com"},
        )
        assert res.status == status
        assert res.header("Access-Control-Allow-Origin") == "*"


def test_413_is_decided_before_the_body_is_read(client):
    """A client claiming a 1 GiB body gets its answer without sending it."""
    import socket

    with socket.create_connection(("127.0.0.1", client.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/comments?uri=/e/ HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{"
        )
        chunks = []
        while chunk := sock.recv(4096):  # the server closes after its answer
            chunks.append(chunk)
        reply = b"".join(chunks).decode()
    assert reply.startswith("HTTP/1.1 413")
    assert '"code": "payload_too_large"' in reply


def test_413_from_the_app_itself_for_other_wsgi_servers(app, config):
    """Under a server without a body cap, the app refuses by Content-Length alone."""
    import io

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/preview",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(config.server.max_body_size + 1),
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "x",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    body = b"".join(app(environ, start_response))
    assert seen["status"].startswith("413")
    assert json.loads(body)["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "path",
    [
        "/api/comments/999999",
        "/api/comments/0",
        "/api/comments/999999999999999999",
        "/api/comments/-1",
        "/api/comments/abc",
        "/api/comments/1.5",
        "/api/comments/99999999999999999999999",
        "/api/nothing",
        "/nothing",
    ],
)
def test_unknown_things_are_404(client, path):
    assert_error_shape(client.get(path), 404)


def test_unknown_comment_for_every_comment_endpoint(client):
    for method in ("GET", "PUT", "DELETE"):
        res = client.request(method, "/api/comments/4242", json_body={"text": "x"}, token=None)
        assert res.status in (401, 404)
        assert_error_shape(res)
    res = client.post("/api/comments/4242/vote", {"value": 1})
    assert_error_shape(res, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/comments/1"),
        ("DELETE", "/api/comments"),
        ("PUT", "/api/counts"),
        ("GET", "/api/preview"),
        ("POST", "/api/config"),
        ("GET", "/api/comments/1/vote"),
    ],
)
def test_wrong_method_is_405(client, seeded, method, path):
    res = client.request(method, path, json_body={})
    assert_error_shape(res, 405)
    assert res.header("Allow")


@pytest.mark.parametrize(
    "query",
    [
        "uri=%ff%fe",
        "uri=/e/&sort=sideways",
        "uri=/e/&limit=0",
        "uri=/e/&limit=-5",
        "uri=/e/&limit=100000",
        "uri=/e/&limit=abc",
        "uri=/e/&limit=%D9%A3",
        "uri=/e/&cursor=!!!",
        "uri=/e/&cursor=W10",
        "uri=/e/&cursor=" + "A" * 1000,
        "uri=%00",
        "uri=" + "u" * 2000,
        "uri=",
        "&".join(f"uri=/{i}/" for i in range(400)),
    ],
)
def test_bad_thread_queries_are_400(client, seeded, query):
    res = client.get(f"/api/comments?{query}")
    assert_error_shape(res, 400)


def test_cursor_of_another_sort_is_refused(client):
    for i in range(3):
        client.post_comment("/e/", text=f"{i}")
    cursor = client.thread("/e/", limit=1).json["cursor"]
    res = client.thread("/e/", limit=1, sort="top", cursor=cursor)
    assert_error_shape(res, 400)
    assert res.json["error"]["field"] == "cursor"


@pytest.mark.parametrize(
    "header",
    ["x" * 300, "caf\u00e9", "tab\there", ""],
)
def test_bad_idempotency_keys(client, header):
    res = client.request(
        "POST",
        "/api/comments?uri=/e/",
        body=b'{"text": "x"}',
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": header.encode().decode("latin-1"),
        },
    )
    assert_error_shape(res, 400)
    assert Comment.select().count() == 0


def test_counts_query_errors(client):
    assert_error_shape(client.get("/api/counts?uri=%ff"), 400)
    assert_error_shape(client.get("/api/counts?" + "&".join(f"uri=/{i}" for i in range(250))), 400)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_answers_garbage_headers_without_500(client, seeded, method, path):
    res = client.request(
        method,
        path,
        body=b'{"text": "x", "value": 1}' if method in ("POST", "PUT") else None,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": "Bearer \u00ff\u00fe".encode().decode("latin-1"),
            "Origin": "null",
            "Idempotency-Key": "k",
        },
    )
    assert res.status < 500
    if res.status >= 400:
        assert_error_shape(res)


def raw_exchange(port: int, request: bytes) -> str:
    """Send raw bytes, read until the server closes, return the reply as text."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("latin-1")


def json_of(reply: str) -> dict:
    return json.loads(reply.split("\r\n\r\n", 1)[1])


def test_malformed_http_is_a_json_400(client):
    reply = raw_exchange(
        client.port,
        b"POST /api/preview HTTP/1.1\r\nHost: x\r\nContent-Length: twelve\r\n\r\n",
    )
    assert reply.startswith("HTTP/1.1 400")
    assert json_of(reply)["error"]["code"] == "bad_request"


def test_an_unreadable_database_is_a_503_not_a_500(serve, make_app, tmp_path):
    from commentd.config import load_config
    from commentd.storage.database import database_proxy

    path = tmp_path / "broken.db"
    app = make_app(load_config(None, environ={}, overrides={"database.url": f"sqlite:///{path}"}))
    client = serve(app)
    client.get("/health")  # the pool now holds an open connection to the old file
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    database_proxy.obj.close_all()  # pooled connections would keep the unlinked file alive
    for res in (client.get("/health"), client.post_comment(text="lost?"), client.thread()):
        assert_error_shape(res, 503)
        assert res.error_code == "unavailable"
        assert res.header("Retry-After") == "1"


def test_a_bug_is_a_logged_json_500_without_details(app, serve, caplog):
    def broken():
        raise RuntimeError("secret internals")

    app.route("/api/broken", callback=broken)
    res = serve(app).get("/api/broken")
    assert_error_shape(res, 500)
    assert res.error_code == "internal_error"
    assert b"secret internals" not in res.raw
    assert "secret internals" in caplog.text
