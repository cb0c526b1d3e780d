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
