"""Every XSS vector of the shared corpus, in every field a reader can send, through create,
edit and preview over real HTTP: the stored and returned HTML is harmless, plain-text fields
come back as the same plain text, and no response body holds a raw ``<``."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from commentd.storage.models import Comment, Thread
from tests.xss import assert_safe_html, load_vectors

VECTORS = load_vectors()


def assert_no_markup(res) -> None:
    """JSON responses escape ``<``, ``>`` and ``&``: even a sniffing browser sees no tag."""
    assert b"<" not in res.raw
    assert b">" not in res.raw


def accepted_or_refused(res, field: str) -> bool:
    """A hostile value is either stored (True) or refused with a clean 400 naming it."""
    if res.status in (200, 201):
        return True
    assert res.status == 400, res.raw[:300]
    assert res.json["error"]["field"] == field
    return False


def assert_plain_field(value, sent: str) -> None:
    assert value is None or value == " ".join(sent.split()) or value == sent.strip()


def assert_website(value) -> None:
    if value is not None:
        parts = urlsplit(value)
        assert parts.scheme in ("http", "https")
        assert parts.hostname


@pytest.mark.parametrize(("vector_id", "payload"), VECTORS, ids=[v[0] for v in VECTORS])
def test_vector_everywhere(client, vector_id, payload):
    uri = "/xss/" + payload[:200]
    res = client.post(
        "/api/comments",
        {"text": payload, "author": payload[:128], "title": payload[:256]},
        query={"uri": uri},
    )
    assert_no_markup(res)
    if not accepted_or_refused(res, "text" if "\x00" in payload else "author"):
        res = client.post("/api/comments", {"text": payload}, query={"uri": uri})
        assert_no_markup(res)
        if not accepted_or_refused(res, "text"):
            return
    created = res.json
    comment = created["comment"]
    assert_safe_html(comment["html"])
    assert_plain_field(comment["author"], payload[:128])

    res = client.post(
        "/api/comments",
        {"text": "site", "website": payload[:512]},
        query={"uri": uri},
    )
    assert_no_markup(res)
    if accepted_or_refused(res, "website"):
        assert_website(res.json["comment"]["website"])

    res = client.put(
        f"/api/comments/{comment['id']}",
        {"text": f"edited {payload}", "author": payload[:128], "website": payload[:512]},
        token=created["token"],
    )
    assert_no_markup(res)
    if accepted_or_refused(res, "website"):
        assert_safe_html(res.json["comment"]["html"])
        assert_website(res.json["comment"]["website"])

    res = client.post("/api/preview", {"text": payload})
    assert_no_markup(res)
    if accepted_or_refused(res, "text"):
        assert_safe_html(res.json["html"])

    thread = client.get("/api/comments", query={"uri": uri})
    assert_no_markup(thread)
    for node in thread.json["comments"]:
        assert_safe_html(node["html"])
        assert_website(node["website"])
    for row in Comment.select():
        assert_safe_html(row.html)
    for row in Thread.select():
        assert row.uri == uri.strip()
