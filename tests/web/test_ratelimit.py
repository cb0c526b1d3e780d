"""Rate limits per client network, over real HTTP, shared by every process on one database."""

from __future__ import annotations

import pytest

from commentd.storage.models import Comment, RateHit


@pytest.fixture
def limited(serve, make_app, make_config):
    def build(**limits):
        settings = {f"ratelimit.{name}": value for name, value in limits.items()}
        return serve(make_app(make_config(**settings)))

    return build


def test_comments_per_minute(limited):
    client = limited(comments_per_minute=3, comments_per_hour=0)
    assert [client.post_comment(text=f"{i}").status for i in range(3)] == [201] * 3
    res = client.post_comment(text="one too many")
    assert res.status == 429
    assert res.error_code == "rate_limited"
    assert 1 <= int(res.header("Retry-After")) <= 60
    assert Comment.select().count() == 3


def test_comments_per_hour(limited):
    client = limited(comments_per_minute=0, comments_per_hour=2)
    assert [client.post_comment(text=f"{i}").status for i in range(3)] == [201, 201, 429]


def test_votes_per_minute(limited):
    client = limited(votes_per_minute=2, comments_per_minute=0, comments_per_hour=0)
    cid = client.post_comment(text="vote").json["comment"]["id"]
    Comment.update(voter="someone-else").execute()
    statuses = [client.post(f"/api/comments/{cid}/vote", {"value": v}).status for v in (1, -1, 0)]
    assert statuses == [200, 200, 429]


def test_refused_requests_and_replays_do_not_count(limited):
    client = limited(comments_per_minute=2, comments_per_hour=0)
    assert client.post_comment(text="").status == 400  # invalid: not counted
    headers = {"Idempotency-Key": "retry-me"}
    for _ in range(3):  # one comment, retried: counted once
        res = client.post("/api/comments", {"text": "x"}, query={"uri": "/p/"}, headers=headers)
        assert res.status == 201
    again = client.post("/api/comments", {"text": "x"}, query={"uri": "/p/"})
    assert again.status == 409  # a double post, refused with the comment: not counted
    assert again.error_code == "duplicate_comment"
    assert client.post_comment(text="second").status == 201
    assert client.post_comment(text="third").status == 429


def test_limits_hold_across_processes_on_one_database(serve, make_app, make_config):
    """Two apps on one database stand for two server processes: the counts are shared."""
    config = make_config(**{"ratelimit.comments_per_minute": 2})
    first, second = make_app(config), make_app(config)
    assert serve(first).post_comment(text="a").status == 201
    assert serve(second).post_comment(text="b").status == 201
    assert serve(first).post_comment(text="c").status == 429
    assert serve(second).post_comment(text="d").status == 429


def test_forwarded_for_is_trusted_only_from_trusted_proxies(serve, make_app, make_config):
    def post(client, forwarded):
        return client.post(
            "/api/comments",
            {"text": forwarded},
            query={"uri": "/p/"},
            headers={"X-Forwarded-For": forwarded},
        ).status

    untrusted = serve(make_app(make_config(**{"ratelimit.comments_per_minute": 1})))
    assert post(untrusted, "198.51.100.1") == 201
    assert post(untrusted, "203.0.113.1") == 429  # the header is ignored: same peer, 127.0.0.1
    assert {c.remote_addr for c in Comment.select()} == {"127.0.0.0"}

    trusted = serve(
        make_app(
            make_config(
                **{
                    "ratelimit.comments_per_minute": 1,
                    "server.trusted_proxies": "127.0.0.1",
                }
            )
        )
    )
    assert post(trusted, "192.0.2.7") == 201
    assert post(trusted, "192.0.2.8") == 429  # same /24
    assert post(trusted, "192.0.2.7, 127.0.0.1") == 429  # trusted hops are skipped
    assert post(trusted, "10.9.8.7") == 201  # another network
    assert post(trusted, "10.9.8.7, 203.0.113.9") == 201  # the rightmost untrusted hop counts
    stored = {c.remote_addr for c in Comment.select()}
    assert {"192.0.2.0", "10.9.8.0", "203.0.113.0"} <= stored


def test_old_windows_are_forgotten(limited):
    client = limited(comments_per_minute=5)
    RateHit.create(key="comment:60:old", window=1, hits=9, expires=60)
    client.post_comment(text="x")
    assert not RateHit.select().where(RateHit.key == "comment:60:old").exists()
