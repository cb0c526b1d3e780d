"""Waline exports imported: what readers and moderators see afterwards."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from commentd.errors import CommentdError
from commentd.services.importers import detect
from commentd.storage.models import Comment, Status, Thread
from tests.services.test_importers import FIXTURES, by_author, shown

EXPORT = FIXTURES / "waline.json"
POST = "/posts/hello-waline.html"
SKIPPED = {"unknown status ''": 1, "comment without an objectId or a url": 1}


def waline_file(tmp_path, comments, users=()):
    """A Waline export as LeanCloud's storage writes it: string ids, Date objects, booleans."""
    doc = {
        "__version": "1.32.3",
        "type": "waline",
        "version": 1,
        "time": 1700000000000,
        "tables": ["Comment", "Counter", "Users"],
        "data": {"Comment": comments, "Counter": [], "Users": list(users)},
    }
    path = tmp_path / "waline.json"
    path.write_text(json.dumps(doc, indent="\t"), encoding="utf-8")
    return path


def test_threads_come_from_the_comments_urls(site):
    _, importer = site
    assert detect(EXPORT) == "waline"
    summary = importer.run(EXPORT)
    assert (summary.format, summary.threads_created, summary.comments_imported) == (
        "waline",
        2,
        6,
    )
    assert summary.skipped == SKIPPED
    post = Thread.get(Thread.uri == POST)
    assert (post.title, post.locked) == (None, False)  # Waline keeps no page titles
    assert post.created == dt.datetime(2023, 5, 1, 8, 0)  # its first comment's
    assert Thread.get(Thread.uri == "/about/").created == dt.datetime(2023, 5, 3, 3, 3, 3)


def test_every_field_of_a_comment(site):
    _, importer = site
    importer.run(EXPORT)
    lin = by_author("Lin")
    assert lin.text == "Nice **post**!\n\nA second paragraph with `code`."
    assert (
        lin.html
        == "<p>Nice <strong>post</strong>!</p>\n<p>A second paragraph with <code>code</code>.</p>\n"
    )
    assert (lin.email, lin.website, lin.remote_addr) == (
        "lin@example.com",
        "https://lin.example.net",
        "203.0.113.0",
    )
    assert (lin.created, lin.modified) == (
        dt.datetime(2023, 5, 1, 8, 0),
        None,
    )  # updatedAt is the row's
    assert (lin.status, lin.likes, lin.dislikes, lin.pinned, lin.parent_id) == (
        Status.APPROVED,
        3,
        0,
        True,
        None,
    )
    assert lin.thread.uri == POST
    mei = by_author("Mei")
    assert (mei.status, mei.email, mei.website, mei.likes, mei.pinned) == (
        Status.PENDING,
        None,
        None,
        0,
        False,
    )
    assert mei.created == dt.datetime(2023, 5, 2, 10, 0)
    spam = by_author("Cheap Pills")
    assert (spam.status, spam.email, spam.website) == (
        Status.SPAM,
        "pills@spam.example",
        "http://pills.spam.example",
    )


def test_a_signed_in_commenter_is_shown_as_their_user(site):
    _, importer = site
    importer.run(EXPORT)
    owner = by_author("Site Owner")  # the comment's own nick was "owner"
    assert (owner.email, owner.website) == ("owner@example.org", "https://owner.example.org")
    assert owner.remote_addr == "2001:db8:1234::"
    assert not Comment.select().where(Comment.author == "owner").exists()


def test_replies_nest_under_pid_even_when_the_parent_comes_later(site):
    config, importer = site
    importer.run(EXPORT)
    lin, owner, mei = by_author("Lin"), by_author("Site Owner"), by_author("Mei")
    assert (owner.parent_id, mei.parent_id) == (lin.id, owner.id)
    assert by_author("Tomás").parent_id == by_author("Ana").id
    tree = shown(config, POST)
    assert [node[0][0] for node in tree] == ["Lin"]
    assert [node[0][0] for node in tree[0][1]] == ["Site Owner"]
    assert tree[0][1][0][1] == []  # Mei's reply waits for a moderator
    about = shown(config, "/about/")
    assert [(node[0][0], [r[0][0] for r in node[1]]) for node in about] == [("Ana", ["Tomás"])]


def test_spam_and_approved_comments_train_the_filter(site):
    _, importer = site
    summary = importer.run(EXPORT)
    assert summary.filter_trained == 5  # four approved, one spam; the waiting one teaches nothing


def test_importing_twice_adds_nothing(site):
    _, importer = site
    importer.run(EXPORT)
    again = importer.run(EXPORT)
    assert (again.threads_created, again.comments_imported) == (0, 0)
    assert (again.threads_existing, again.comments_existing) == (2, 6)
    assert (Thread.select().count(), Comment.select().count()) == (2, 6)


def test_leancloud_ids_dates_and_flags(site, tmp_path):
    _, importer = site
    comments = [
        {
            "objectId": "64a1f0c2e8b1c73a5d2e9f01",
            "url": "https://blog.example.com/lc/?p=2",
            "nick": "Lee",
            "comment": "From *LeanCloud*",
            "insertedAt": {"__type": "Date", "iso": "2022-07-01T06:30:00.000Z"},
            "createdAt": "2022-07-02T00:00:00.000Z",
            "status": "approved",
            "pid": "",
            "like": "7",
            "sticky": True,
            "user_id": "64a1f0c2e8b1c73a5d2e9aaa",
        },
        {
            "objectId": "64a1f0c2e8b1c73a5d2e9f02",
            "url": "/lc/?p=2",
            "nick": "Ming",
            "comment": "A reply with only its root",
            "insertedAt": 1656660600000,
            "status": "approved",
            "rid": "64a1f0c2e8b1c73a5d2e9f01",
            "sticky": False,
        },
        {
            "objectId": "64a1f0c2e8b1c73a5d2e9f03",
            "url": "/lc/?p=2",
            "nick": "Sun",
            "comment": "No insertedAt: the row's createdAt",
            "createdAt": "2022-07-03T00:00:00.000Z",
            "status": "approved",
            "sticky": "1",
        },
    ]
    users = [{"objectId": "64a1f0c2e8b1c73a5d2e9aaa", "display_name": "Lee Admin", "email": ""}]
    summary = importer.run(waline_file(tmp_path, comments, users))
    assert (summary.threads_created, summary.comments_imported) == (1, 3)
    assert Thread.get().uri == "/lc/?p=2"
    lee = by_author("Lee Admin")
    assert (lee.created, lee.likes, lee.pinned, lee.parent_id) == (
        dt.datetime(2022, 7, 1, 6, 30),
        7,
        True,
        None,
    )
    ming = by_author("Ming")
    assert (ming.created, ming.parent_id, ming.pinned) == (
        dt.datetime(2022, 7, 1, 7, 30),
        lee.id,
        False,
    )
    assert by_author("Sun").created == dt.datetime(2022, 7, 3)
    assert by_author("Sun").pinned is True


def test_a_file_that_is_not_a_waline_export_is_refused(site, tmp_path):
    _, importer = site
    with pytest.raises(CommentdError) as caught:
        importer.run(FIXTURES / "artalk.json", format="waline")
    assert caught.value.code == "invalid_file"
    assert caught.value.message.startswith("Not a Waline export")
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "waline", "version": 1, "data": {"Comment": [{"objectId": ')
    with pytest.raises(CommentdError) as caught:
        importer.run(broken)
    assert caught.value.code == "invalid_json"
    assert Comment.select().count() == 0


def waline_comment(key, nick, comment):
    return {
        "objectId": key,
        "url": "/md/",
        "nick": nick,
        "comment": comment,
        "status": "approved",
        "insertedAt": "2023-05-01T08:00:00.000Z",
    }


def test_markdown_shows_as_waline_showed_it_line_breaks_and_raw_html(site, tmp_path):
    """Waline keeps a single newline as a line break and lets raw HTML through its sanitizer:
    so does the import, while the stored text stays the Markdown the author wrote."""
    config, importer = site
    source = (
        "First line\nsecond line, <b>bold</b> and <i>slanted</i>\n\n"
        'A <a href="https://example.org/x">link</a> and '
        '<img src="https://img.example.org/cat.png" alt="a cat">'
    )
    importer.run(waline_file(tmp_path, [waline_comment("1", "Raw", source)]))
    assert shown(config, "/md/") == [
        (
            (
                "Raw",
                "<p>First line<br>\nsecond line, <strong>bold</strong> and <em>slanted</em></p>\n"
                '<p>A <a href="https://example.org/x" rel="nofollow ugc noopener">link</a> and '
                '<a href="https://img.example.org/cat.png" rel="nofollow ugc noopener">'
                "a cat</a></p>\n",
            ),
            [],
        )
    ]
    assert by_author("Raw").text == source  # the source, to edit, is the Markdown as written


def test_script_and_event_handlers_in_a_waline_comment_do_not_survive(site, tmp_path):
    config, importer = site
    source = (
        "Hello <script>alert(1)</script>\n"
        '<img src="https://img.example.org/x.png" alt="pic" onerror="alert(2)">'
        '<a href="javascript:alert(3)" onclick="alert(4)">click</a>\n\n'
        "<style>body{display:none}</style>"
        '<div onmouseover="alert(5)">end</div>'
    )
    importer.run(waline_file(tmp_path, [waline_comment("1", "Xss", source)]))
    [((_, html), _)] = shown(config, "/md/")
    for bad in ("<script", "alert", "onerror", "onclick", "onmouseover", "javascript:", "<style"):
        assert bad not in html
    assert html == (
        "<p>Hello <br>\n"
        '<a href="https://img.example.org/x.png" rel="nofollow ugc noopener">pic</a>'
        '<a rel="nofollow ugc noopener">click</a></p>\nend'
    )
    assert by_author("Xss").text == source
