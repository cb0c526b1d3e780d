"""POST /webmention takes a Webmention as the W3C Recommendation asks of a receiver: checks the
request, answers 202 with a status URL and queues the verification; nothing is fetched here."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

from commentd.storage.models import OutboxMessage, Webmention

SITE = "https://blog.example.com"
SOURCE = "https://other.example.org/replies/1"


@pytest.fixture
def site_client(serve, make_app, make_config):
    return serve(make_app(make_config(**{"site.url": SITE})))


def send(client, headers=None, **form):
    return client.post(
        "/webmention",
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )


def test_a_webmention_is_accepted_queued_and_has_a_status_url(site_client):
    answer = send(site_client, source=SOURCE, target=f"{SITE}/2024/post/#comments")
    assert answer.status == 202
    body = answer.json
    assert body["status"] == "queued"
    assert answer.header("Location") == body["status_url"]
    found = Webmention.get_by_id(body["id"])
    assert (found.source, found.target, found.uri) == (SOURCE, f"{SITE}/2024/post/", "/2024/post/")
    queued = OutboxMessage.get()
    assert (queued.kind, queued.recipient, queued.status) == ("webmention", SOURCE, "pending")
    status_path = urlsplit(body["status_url"])
    shown = site_client.get(f"{status_path.path}?{status_path.query}")
    assert shown.status == 200
    assert shown.json | {"received": None} == {
        "id": found.id,
        "source": SOURCE,
        "target": f"{SITE}/2024/post/",
        "status": "queued",
        "type": None,
        "error": None,
        "received": None,
        "verified": None,
    }


def test_each_webmention_received_is_counted(site_client):
    def received() -> float:
        text = site_client.get("/metrics").raw.decode()
        lines = [x for x in text.splitlines() if x.startswith("commentd_webmentions_total")]
        return sum(float(x.rsplit(" ", 1)[1]) for x in lines if 'outcome="received"' in x)

    before = received()
    send(site_client, source=SOURCE, target=f"{SITE}/post/")
    send(site_client, source="ftp://x/", target=f"{SITE}/post/")  # refused: not counted
    assert received() == before + 1


def test_the_same_source_and_target_again_is_the_same_webmention_queued_anew(site_client):
    first = send(site_client, source=SOURCE, target=f"{SITE}/post/").json
    Webmention.update(status="rejected", error="no link").execute()
    again = send(site_client, source=SOURCE, target=f"{SITE}/post/").json
    assert again["id"] == first["id"]
    assert (Webmention.get().status, Webmention.get().error) == ("queued", None)
    assert OutboxMessage.select().count() == 2


def test_a_status_url_without_its_token_shows_nothing(site_client):
    body = send(site_client, source=SOURCE, target=f"{SITE}/post/").json
    wrong = ("", "?token=", "?token=0123456789abcdef0123456789abcdef", "?token=%C3%A9%5BX%5D")
    for query in wrong:
        answer = site_client.get(f"/webmention/{body['id']}{query}")
        assert (answer.status, answer.error_code) == (404, "webmention_not_found")
    assert site_client.get("/webmention/999?token=x").error_code == "webmention_not_found"


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"target": f"{SITE}/post/"}, "invalid_source"),
        ({"source": SOURCE}, "invalid_target"),
        ({"source": "ftp://other.example.org/x", "target": f"{SITE}/post/"}, "invalid_source"),
        ({"source": "javascript:alert(1)", "target": f"{SITE}/post/"}, "invalid_source"),
        ({"source": "/relative", "target": f"{SITE}/post/"}, "invalid_source"),
        ({"source": SOURCE, "target": "https://elsewhere.example.net/post/"}, "unknown_target"),
        ({"source": SOURCE, "target": "http://blog.example.com/post/"}, "unknown_target"),
        ({"source": SOURCE, "target": "https://blog.example.com:8443/post/"}, "unknown_target"),
        ({"source": f"{SITE}/post/", "target": f"{SITE}/post/#x"}, "same_source_and_target"),
        ({"source": SOURCE + "x" * 1024, "target": f"{SITE}/post/"}, "invalid_source"),
        ({"source": "https://a.example/\x00", "target": f"{SITE}/post/"}, "invalid_source"),
        ({"source": "https://a.example:99999/", "target": f"{SITE}/post/"}, "invalid_source"),
    ],
)
def test_a_bad_request_is_a_clear_400_and_records_nothing(site_client, form, code):
    answer = send(site_client, **form)
    assert (answer.status, answer.error_code) == (400, code)
    assert answer.json["error"]["message"]
    assert Webmention.select().count() == 0
    assert OutboxMessage.select().count() == 0


def test_a_webmention_must_be_form_encoded(site_client):
    answer = site_client.post("/webmention", {"source": SOURCE, "target": f"{SITE}/post/"})
    assert answer.status == 415


def test_under_a_site_in_a_folder_the_uri_is_the_path_below_it(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"site.url": "https://example.com/blog/"})))
    body = send(client, source=SOURCE, target="https://example.com/blog/a-post/").json
    assert Webmention.get_by_id(body["id"]).uri == "/a-post/"
    answer = send(client, source=SOURCE, target="https://example.com/blogger/")
    assert answer.error_code == "unknown_target"


def test_without_a_site_url_or_turned_off_no_webmention_is_taken(serve, make_app, make_config):
    for overrides in ({}, {"site.url": SITE, "webmention.receive": "off"}):
        client = serve(make_app(make_config(**overrides)))
        answer = send(client, source=SOURCE, target=f"{SITE}/post/")
        assert (answer.status, answer.error_code) == (404, "webmentions_off")


def test_webmentions_count_against_the_networks_allowance(serve, make_app, make_config):
    config = make_config(**{"site.url": SITE, "ratelimit.comments_per_minute": 2})
    client = serve(make_app(config))
    codes = [send(client, source=f"{SOURCE}{i}", target=f"{SITE}/p/").status for i in range(3)]
    assert codes == [202, 202, 429]
    assert client.post_comment().status == 201  # a separate allowance from comments'
