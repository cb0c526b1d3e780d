"""Artalk's Artrans files imported: what readers and moderators see afterwards."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from commentd.errors import CommentdError
from commentd.services.importers import detect
from commentd.storage.models import Comment, Status, Thread
from tests.services.test_importers import FIXTURES, by_author, shown

ARTRANS = FIXTURES / "artalk.json"
POST = "/posts/artalk/"
CLOSED = "/notes/closed/"
SKIPPED = {"empty comment": 1, "comment without an id or a page_key": 1}


def test_pages_become_threads(site):
    _, importer = site
    assert detect(ARTRANS) == "artalk"
    summary = importer.run(ARTRANS)
    assert (summary.format, summary.threads_created, summary.comments_imported) == (
        "artalk",
        2,
        6,
    )
    assert summary.skipped == SKIPPED
    post = Thread.get(Thread.uri == POST)  # the page_key's domain is dropped
    assert (post.title, post.locked, post.created) == (
        "Trying Artalk",
        False,
        dt.datetime(2024, 3, 1, 10, 0),  # its first comment's, in UTC
    )
    closed = Thread.get(Thread.uri == CLOSED)
    assert (closed.title, closed.locked) == ("Admins only", True)  # page_admin_only


def test_every_field_of_a_comment(site):
    _, importer = site
    importer.run(ARTRANS)
    kai = by_author("Kai")
    assert kai.text == "Hello from **Artalk**.\n\n> A quoted line"
    assert kai.html == (
        "<p>Hello from <strong>Artalk</strong>.</p>\n<blockquote>\n<p>A quoted line</p>\n"
        "</blockquote>\n"
    )
    assert (kai.email, kai.website, kai.remote_addr) == (
        "kai@example.com",
        "https://kai.example.dev",
        "203.0.113.0",
    )
    assert (kai.created, kai.modified) == (dt.datetime(2024, 3, 1, 10, 0), None)
    assert (kai.status, kai.likes, kai.dislikes, kai.pinned, kai.parent_id) == (
        Status.APPROVED,
        5,
        1,
        True,
        None,
    )
    admin = by_author("Admin")
    assert (admin.email, admin.website, admin.remote_addr) == (
        "admin@blog.example.com",
        "https://blog.example.com",
        "2001:db8:aa::",
    )
    assert (admin.likes, admin.dislikes, admin.pinned) == (0, 0, False)
    lena = by_author("Lena")
    assert (lena.status, lena.created) == (Status.PENDING, dt.datetime(2024, 3, 2, 0, 0))


def test_older_go_times_and_values_that_are_not_strings(site):
    _, importer = site
    importer.run(ARTRANS)
    old = by_author("Old Timer")  # "2023-12-24 10:00:00.123456789 +0000 UTC", vote_up 2
    assert (old.created, old.likes, old.pinned) == (
        dt.datetime(2023, 12, 24, 10, 0, 0, 123456),
        2,
        False,
    )


def test_rid_nests_replies_even_when_the_parent_comes_later(site):
    config, importer = site
    importer.run(ARTRANS)
    kai, admin, lena = by_author("Kai"), by_author("Admin"), by_author("Lena")
    assert (admin.parent_id, lena.parent_id) == (kai.id, admin.id)
    assert by_author("Early Bird").parent_id == by_author("Parent").id
    tree = shown(config, POST)
    assert [node[0][0] for node in tree] == ["Kai"]
    assert [node[0][0] for node in tree[0][1]] == ["Admin"]
    assert tree[0][1][0][1] == []  # Lena's reply is pending
    closed = shown(config, CLOSED)
    assert [(node[0][0], [r[0][0] for r in node[1]]) for node in closed] == [
        ("Old Timer", []),
        ("Parent", ["Early Bird"]),
    ]


def test_importing_twice_adds_nothing(site):
    _, importer = site
    importer.run(ARTRANS)
    again = importer.run(ARTRANS)
    assert (again.threads_created, again.comments_imported) == (0, 0)
    assert (again.threads_existing, again.comments_existing) == (2, 6)
    assert (Thread.select().count(), Comment.select().count()) == (2, 6)


def test_a_pretty_printed_file_with_numbers_and_booleans_is_read_too(site, tmp_path):
    """Artalk reads any scalar where it writes a string; so does the importer."""
    _, importer = site
    artrans = [
        {
            "id": 7,
            "rid": 0,
            "content": "Converted by a tool",
            "is_pending": True,
            "is_pinned": 1,
            "vote_up": "3",
            "vote_down": 2,
            "created_at": "2022-05-04T03:02:01Z",
            "nick": "Tool",
            "page_key": "/converted/",
            "page_title": "",
        },
        {"id": 8, "rid": 7, "content": "Its reply", "page_key": "/converted/", "nick": "Reply"},
        "not an object",
    ]
    path = tmp_path / "site.artrans"
    path.write_text(json.dumps(artrans, indent=2), encoding="utf-8")
    assert detect(path) == "artalk"
    summary = importer.run(path)
    assert summary.comments_imported == 2
    assert summary.skipped == {"comment that is not a JSON object": 1}
    tool = by_author("Tool")
    assert (tool.status, tool.pinned, tool.likes, tool.dislikes) == (Status.PENDING, False, 3, 2)
    assert tool.created == dt.datetime(2022, 5, 4, 3, 2, 1)
    assert by_author("Reply").parent_id == tool.id
    assert Thread.get(Thread.uri == "/converted/").title is None


def test_a_file_that_is_not_an_artrans_array_is_refused(site):
    _, importer = site
    with pytest.raises(CommentdError) as caught:
        importer.run(FIXTURES / "waline.json", format="artalk")
    assert caught.value.code == "invalid_file"
    assert caught.value.message.startswith("Not an Artalk Artrans file")
    assert Comment.select().count() == 0


def test_markdown_shows_as_artalk_showed_it_line_breaks_and_raw_html(site, tmp_path):
    """Artalk renders Markdown with line breaks kept and sanitized raw HTML; so does the
    import, and the stored text stays the Markdown as written."""
    config, importer = site
    source = "Line one\nline two with <b>bold</b>\n\n<em>kept</em> <script>alert(1)</script>"
    artrans = [{"id": "1", "rid": "0", "content": source, "nick": "Raw", "page_key": "/md/"}]
    path = tmp_path / "site.artrans"
    path.write_text(json.dumps(artrans), encoding="utf-8")
    importer.run(path)
    assert shown(config, "/md/") == [
        (
            (
                "Raw",
                "<p>Line one<br>\nline two with <strong>bold</strong></p>\n<p><em>kept</em> </p>\n",
            ),
            [],
        )
    ]
    assert by_author("Raw").text == source
