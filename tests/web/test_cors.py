"""Cross-origin rules: any page may read and learn why it was refused; only the blog may post."""

from __future__ import annotations

import pytest

from commentd.storage.models import Comment
from tests.conftest import DEFAULT_ORIGIN

EVIL = "https://evil.example"


def test_allowed_origin_can_post_and_read_the_answer(client):
    res = client.post(
        "/api/comments", {"text": "hi"}, query={"uri": "/p/"}, headers={"Origin": DEFAULT_ORIGIN}
    )
    assert res.status == 201
    assert res.header("Access-Control-Allow-Origin") == "*"
    assert "ETag" in res.header("Access-Control-Expose-Headers")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/comments?uri=/p/", {"text": "spam"}),
        ("PUT", "/api/comments/1", {"text": "x"}),
        ("DELETE", "/api/comments/1", None),
        ("POST", "/api/comments/1/vote", {"value": 1}),
        ("POST", "/api/preview", {"text": "x"}),
    ],
)
def test_other_origins_are_refused_for_writes(client, method, path, body):
    created = client.post_comment("/p/", text="original").json
    res = client.request(
        method, path, json_body=body, headers={"Origin": EVIL}, token=created["token"]
    )
    assert res.status == 403
    assert res.error_code == "origin_not_allowed"
    # readable by the page, so the embed can say which origin and which setting
    assert res.header("Access-Control-Allow-Origin") == "*"
    assert EVIL in res.json["error"]["message"]
    assert "allowed_origins" in res.json["error"]["message"]
    assert [c.text for c in Comment.select()] == ["original"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/comments?uri=/p/",
        "/api/counts?uri=/p/",
        "/html/thread?uri=/p/",
        "/feed/thread.atom?uri=/p/",
        "/api/config",
    ],
)
def test_reads_from_any_origin_are_granted_to_all_alike(client, path):
    client.post_comment("/p/", text="hello")
    for headers in ({"Origin": EVIL}, {"Origin": DEFAULT_ORIGIN}, {}):
        res = client.get(path, headers=headers)
        assert res.status == 200, (path, headers)
        # one grant for every origin: a proxy's copy serves them all, no Vary: Origin
        assert res.header("Access-Control-Allow-Origin") == "*", (path, headers)
        assert "Origin" not in (res.header("Vary") or ""), (path, headers)


def test_the_admin_page_grants_nothing_cross_origin(client):
    res = client.get("/admin", headers={"Origin": EVIL})
    assert res.header("Access-Control-Allow-Origin") is None


def test_config_says_whether_the_asking_page_may_post(client):
    assert client.get("/api/config", headers={"Origin": EVIL}).json["origin_allowed"] is False
    allowed = client.get("/api/config", headers={"Origin": DEFAULT_ORIGIN}).json
    assert allowed["origin_allowed"] is True
    assert client.get("/api/config").json["origin_allowed"] is True


def test_same_origin_and_demo_origin_are_always_allowed(client, config):
    for origin in (f"http://127.0.0.1:{client.port}", f"http://localhost:{config.server.port}"):
        res = client.post(
            "/api/comments",
            {"text": f"hi from {origin}"},
            query={"uri": "/p/"},
            headers={"Origin": origin},
        )
        assert res.status == 201, origin


def test_requests_without_origin_are_not_browser_cross_site(client):
    assert client.post_comment(text="from curl").status == 201


@pytest.mark.parametrize(
    "path", ["/api/comments", "/api/comments/5", "/api/comments/5/vote", "/api/counts"]
)
def test_preflight_for_allowed_origin(client, path):
    res = client.request(
        "OPTIONS",
        path,
        headers={
            "Origin": DEFAULT_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert res.status == 204
    assert res.header("Access-Control-Allow-Origin") == "*"
    assert "PUT" in res.header("Access-Control-Allow-Methods")
    assert "Authorization" in res.header("Access-Control-Allow-Headers")
    assert "Idempotency-Key" in res.header("Access-Control-Allow-Headers")
    assert int(res.header("Access-Control-Max-Age")) > 0


def test_preflight_for_other_origin_is_answered_so_the_refusal_can_be_read(client):
    res = client.request(
        "OPTIONS",
        "/api/comments",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert res.status == 204
    assert res.header("Access-Control-Allow-Origin") == "*"
    assert Comment.select().count() == 0


def test_error_responses_carry_cors_headers_too(client):
    res = client.post(
        "/api/comments", {"text": ""}, query={"uri": "/p/"}, headers={"Origin": DEFAULT_ORIGIN}
    )
    assert res.status == 400
    assert res.header("Access-Control-Allow-Origin") == "*"
    res = client.get("/api/nothing", headers={"Origin": DEFAULT_ORIGIN})
    assert res.status == 404
    assert res.header("Access-Control-Allow-Origin") == "*"
