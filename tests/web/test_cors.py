"""Cross-origin rules: the blog may post, other sites may not, preflights work."""

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
    assert res.header("Access-Control-Allow-Origin") == DEFAULT_ORIGIN
    assert "Origin" in res.header("Vary")
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
    assert res.header("Access-Control-Allow-Origin") is None
    assert "Origin" in res.header("Vary")
    assert [c.text for c in Comment.select()] == ["original"]


def test_reads_from_other_origins_are_served_without_cors_grant(client):
    res = client.get("/api/comments", query={"uri": "/p/"}, headers={"Origin": EVIL})
    assert res.status == 200
    assert res.header("Access-Control-Allow-Origin") is None
    assert "Origin" in res.header("Vary").split(", ")


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
    assert res.header("Access-Control-Allow-Origin") == DEFAULT_ORIGIN
    assert "PUT" in res.header("Access-Control-Allow-Methods")
    assert "Authorization" in res.header("Access-Control-Allow-Headers")
    assert "Idempotency-Key" in res.header("Access-Control-Allow-Headers")
    assert int(res.header("Access-Control-Max-Age")) > 0


def test_preflight_for_other_origin_is_refused(client):
    res = client.request(
        "OPTIONS",
        "/api/comments",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert res.status == 403
    assert res.header("Access-Control-Allow-Origin") is None


def test_error_responses_carry_cors_headers_too(client):
    res = client.post(
        "/api/comments", {"text": ""}, query={"uri": "/p/"}, headers={"Origin": DEFAULT_ORIGIN}
    )
    assert res.status == 400
    assert res.header("Access-Control-Allow-Origin") == DEFAULT_ORIGIN
    res = client.get("/api/nothing", headers={"Origin": DEFAULT_ORIGIN})
    assert res.status == 404
    assert res.header("Access-Control-Allow-Origin") == DEFAULT_ORIGIN
