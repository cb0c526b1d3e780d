"""The account's routes answer what commentd/openapi.json says, and what the contract run
(tests/contract/run_schemathesis.py) or a careless peer sends them is refused, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs  # comes with schemathesis (the dev extra)
import pytest

from tests.fediverse.test_inbox import blog, post  # noqa: F401 - blog is a fixture

SPEC = json.loads(
    (Path(__file__).resolve().parents[2] / "commentd" / "openapi.json").read_text("utf-8")
)


def validate(document: dict, name: str) -> None:
    schema = {**SPEC["components"]["schemas"][name], "components": SPEC["components"]}
    jsonschema_rs.Draft202012Validator(schema).validate(document)


@pytest.mark.parametrize(
    ("path", "schema", "media"),
    [
        ("/.well-known/webfinger?resource=acct:blog@127.0.0.1:{port}", "Jrd", "jrd+json"),
        ("/.well-known/nodeinfo", "NodeInfoLinks", "application/json"),
        ("/nodeinfo/2.1", "NodeInfo", "application/json; profile="),
        ("/ap/actor", "Actor", "activity+json"),
        ("/ap/outbox", "Collection", "activity+json"),
        ("/ap/followers", "Collection", "activity+json"),
        ("/ap/following", "Collection", "activity+json"),
        ("/ap/posts/1", "ActivityObject", "activity+json"),
    ],
)
def test_each_document_fits_its_schema(blog, path, schema, media):  # noqa: F811
    res = blog.get(path.format(port=blog.port))
    assert res.status == 200, res.raw
    assert media in res.header("content-type")
    assert res.header("cache-control") == "public, max-age=60"
    validate(json.loads(res.raw), schema)


@pytest.mark.parametrize("where", ["key_id", "actor"])
def test_a_url_that_cannot_be_split_is_refused_not_a_500(blog, grace, where):  # noqa: F811
    """``http://[bad`` (an unclosed IPv6 literal) made urlsplit raise in the ban check: 500."""
    activity = grace.activity("Follow", f"http://127.0.0.1:{blog.port}/ap/actor")
    how = {}
    if where == "key_id":
        how["key_id"] = "http://[bad#main-key"
        expected = "signature_key_unavailable"
    else:
        activity["actor"] = "http://[bad"
        expected = "signature_actor_mismatch"
    status, body = post(blog, grace, activity, **how)
    assert (status, body["error"]["code"]) == (401, expected)


def test_a_note_whose_id_cannot_be_split_is_not_the_actors(blog, grace):  # noqa: F811
    note = grace.note(f"http://127.0.0.1:{blog.port}/ap/posts/1", id="http://[bad/1")
    status, body = post(blog, grace, grace.activity("Create", note))
    assert (status, body["error"]["code"]) == (403, "object_not_owned")


def test_webfinger_finds_the_account_and_only_it(blog):  # noqa: F811
    host = f"127.0.0.1:{blog.port}"
    found = blog.get("/.well-known/webfinger", query={"resource": f"acct:blog@{host}"}).json
    assert found["subject"] == f"acct:blog@{host}"
    assert {
        "rel": "self",
        "type": "application/activity+json",
        "href": f"http://{host}/ap/actor",
    } in found["links"]
    by_url = blog.get("/.well-known/webfinger", query={"resource": f"http://{host}/ap/actor"})
    assert by_url.json["subject"] == f"acct:blog@{host}"
    other = blog.get("/.well-known/webfinger", query={"resource": f"acct:eve@{host}"})
    assert (other.status, other.error_code) == (404, "unknown_resource")
    elsewhere = blog.get("/.well-known/webfinger", query={"resource": "acct:blog@other.example"})
    assert (elsewhere.status, elsewhere.error_code) == (404, "unknown_resource")
    missing = blog.get("/.well-known/webfinger")
    assert (missing.status, missing.error_code) == (400, "invalid_resource")


def test_the_actor_says_what_the_config_says_and_escapes_it(blog):  # noqa: F811
    actor = blog.get("/ap/actor").json
    assert actor["type"] == "Service"
    assert actor["preferredUsername"] == "blog"
    assert actor["name"] == "The Example Blog"
    assert actor["summary"] == "<p>Posts about &lt;examples&gt; &amp; more</p>"
    assert actor["icon"] == {
        "type": "Image",
        "mediaType": "image/png",
        "url": "https://blog.example.com/icon.png",
    }
    assert actor["url"] == "https://blog.example.com"
    assert actor["endpoints"]["sharedInbox"] == actor["inbox"]
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert blog.get("/ap/actor").json["publicKey"] == actor["publicKey"]  # one key, kept
    nodeinfo = blog.get("/nodeinfo/2.1").json
    assert nodeinfo["software"]["name"] == "commentd"
    assert nodeinfo["usage"]["localPosts"] == 1
    assert nodeinfo["openRegistrations"] is False


def test_everything_is_404_while_the_account_is_off(make_config, make_app, serve):
    client = serve(make_app(make_config()))
    for path in (
        "/.well-known/webfinger?resource=acct:blog@x",
        "/.well-known/nodeinfo",
        "/nodeinfo/2.1",
        "/ap/actor",
        "/ap/outbox",
        "/ap/posts/1",
    ):
        res = client.get(path)
        assert (res.status, res.error_code) == (404, "fediverse_off"), path
    res = client.post(
        "/ap/inbox", body=b"{}", headers={"Content-Type": "application/activity+json"}
    )
    assert (res.status, res.error_code) == (404, "fediverse_off")


def test_an_unknown_post_or_comment_is_404(blog):  # noqa: F811
    assert blog.get("/ap/posts/99").error_code == "post_not_found"
    assert blog.get("/ap/comments/1").error_code == "comment_not_found"  # publish_comments off


def test_a_browser_is_sent_to_the_page_and_a_server_gets_the_json(blog):  # noqa: F811
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path, page in (("/ap/actor", "https://blog.example.com"), ("/ap/posts/1", None)):
        res = blog.get(path, headers=html)
        assert res.status == 303
        assert res.header("location") == (page or "https://blog.example.com/2026/hello/")
        assert "Accept" in res.header("vary")
    for accept in ("application/activity+json", 'application/ld+json; profile="x"', "*/*"):
        assert blog.get("/ap/actor", headers={"Accept": accept}).json["type"] == "Service"


def test_the_spec_says_what_an_id_is_as_the_inbox_checks_it():
    from commentd.services.fediverse.remote import ID_PATTERN, clean_id

    activity = SPEC["components"]["schemas"]["Activity"]["properties"]
    assert activity["id"]["pattern"] == ID_PATTERN
    assert activity["actor"]["anyOf"][0]["pattern"] == ID_PATTERN
    assert clean_id("https://mastodon.example/users/a/statuses/1") is not None
    for bad in ("", "has space", "nul\x00", "\u0099\u00a4", "é", "x" * 1025, "\ud800"):
        assert clean_id(bad) is None, bad
