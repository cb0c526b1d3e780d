"""Commento's and Comentario's exports imported: what readers and moderators see afterwards."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from commentd.errors import CommentdError
from commentd.services.importers import detect
from commentd.storage.models import Comment, Status, Thread, Vote
from tests.services.test_importers import FIXTURES, by_author, shown

COMMENTO = FIXTURES / "commento.json"
COMENTARIO = FIXTURES / "comentario.json"


def by_text(text: str) -> Comment:
    return Comment.get(Comment.text == text)


class TestCommento:
    def test_threads_comments_states_and_authors(self, site):
        _, importer = site
        assert detect(COMMENTO) == "commento"
        summary = importer.run(COMMENTO)
        assert (summary.format, summary.threads_created, summary.comments_imported) == (
            "commento",
            2,
            7,
        )
        assert summary.skipped == {
            "unknown state 'weird'": 1,
            "comment without a commentHex or a page path": 1,
        }
        first = Thread.get(Thread.uri == "/posts/first/")
        assert (first.title, first.locked) == (None, False)
        assert first.created == dt.datetime(2020, 4, 1, 9)  # its first comment's
        assert Thread.select().where(Thread.uri == "/posts/second").exists()  # a "/" added

        eve = by_text("Nice **post**, see <https://eve.example/notes>.")
        assert (eve.author, eve.email, eve.website) == (
            "Eve Commento",
            "eve@example.org",
            "https://eve.example",
        )
        assert eve.html == (
            '<p>Nice <strong>post</strong>, see <a href="https://eve.example/notes"'
            ' rel="nofollow ugc noopener">https://eve.example/notes</a>.</p>\n'
        )
        assert (eve.created, eve.status, eve.parent_id) == (
            dt.datetime(2020, 4, 1, 9),
            Status.APPROVED,
            None,
        )
        assert (eve.likes, eve.dislikes, eve.remote_addr, eve.modified) == (3, 0, None, None)
        anonymous = by_text("An anonymous reply")
        assert (anonymous.author, anonymous.email, anonymous.parent_id) == (None, None, eve.id)
        assert anonymous.created == dt.datetime(2020, 4, 1, 10, 30, 0, 250000)
        assert (anonymous.likes, anonymous.dislikes) == (0, 2)  # a net score of -2
        frank = by_text("Waiting for a moderator")
        assert (frank.status, frank.author, frank.website) == (Status.PENDING, "Frank", None)
        spam = by_text("Buy cheap [pills](http://pills.example)")
        assert (spam.status, spam.email) == (Status.SPAM, None)  # "flagged"; a bad address
        second = by_text("Über *den* zweiten Beitrag — 日本語")
        assert second.created == dt.datetime(2020, 5, 1, 6)
        assert Vote.select().count() == 0  # Commento exports no voters

    def test_deleted_comments_are_placeholders_and_keep_their_replies(self, site):
        config, importer = site
        importer.run(COMMENTO)
        gone = Comment.get(Comment.status == Status.DELETED)  # Commento's "[deleted]"
        assert (gone.text, gone.author, gone.email) == ("", None, None)
        late = by_text("Reply to a comment that was deleted later")
        assert late.parent_id == gone.id  # its parent came after it in the file
        tree = shown(config, "/posts/first/")
        assert [node[0][0] for node in tree] == ["Eve Commento"]
        assert [node[0][0] for node in tree[0][1]] == [None, None]
        assert tree[0][1][1][1][0][0][0] == "Frank"

    def test_comentario_2s_version_1_names(self, site, tmp_path):
        """Comentario 2 wrote version 1 with ``path``, ``host`` and ``websiteUrl``."""
        _, importer = site
        zeros = "0" * 64
        export = {
            "version": 1,
            "comments": [
                {"commentHex": "c1", "commenterHex": "u1", "host": "site.example"}
                | {"path": "/blog/", "markdown": "Hello", "parentHex": "root", "score": 1}
                | {"state": "approved", "creationDate": "2023-01-02T03:04:05Z"},
                {"commentHex": "c2", "commenterHex": zeros, "host": "site.example"}
                | {"path": "/blog/", "markdown": "", "html": "<p>gone</p>", "deleted": True}
                | {"parentHex": "c1", "state": "approved", "creationDate": "2023-01-03T00:00:00Z"},
            ],
            "commenters": [
                {"commenterHex": "u1", "name": "Jo", "email": "jo@example.org"}
                | {"websiteUrl": "https://jo.example", "avatarUrl": "", "isModerator": False},
            ],
        }
        path = tmp_path / "comentario-v1.json"
        path.write_text(json.dumps(export))
        assert detect(path) == "commento"
        summary = importer.run(path)
        assert (summary.threads_created, summary.comments_imported) == (1, 2)
        jo = by_author("Jo")
        assert (jo.text, jo.website, jo.likes, jo.thread.uri) == (
            "Hello",
            "https://jo.example",
            1,
            "/blog/",
        )
        gone = Comment.get(Comment.status == Status.DELETED)
        assert (gone.parent_id, gone.author) == (jo.id, None)

    def test_importing_twice_adds_nothing(self, site):
        _, importer = site
        importer.run(COMMENTO)
        again = importer.run(COMMENTO)
        assert (again.threads_created, again.comments_imported) == (0, 0)
        assert (again.threads_existing, again.comments_existing) == (2, 7)
        assert Comment.select().count() == 7


class TestComentario:
    def test_pages_comments_flags_and_authors(self, site):
        _, importer = site
        assert detect(COMENTARIO) == "comentario"
        summary = importer.run(COMENTARIO)
        assert (summary.format, summary.threads_created, summary.comments_imported) == (
            "comentario",
            2,
            6,
        )
        assert summary.skipped == {
            "page without an id or a path": 1,
            "comment without an id or a known page": 1,
        }
        one = Thread.get(Thread.uri == "/articles/one/")
        assert (one.title, one.locked, one.created) == (
            "Article one",
            False,
            dt.datetime(2022, 3, 1, 8),
        )
        closed = Thread.get(Thread.uri == "/articles/closed/?print=1")
        assert (closed.title, closed.locked) == ("Closed & done", True)

        gail = by_author("Gail Comentario")
        assert (gail.email, gail.website, gail.remote_addr) == (
            "gail@example.org",
            "https://gail.example",
            "203.0.113.0",  # authorIP, cut to its network
        )
        assert gail.text == "Top *level*, with a [link](https://gail.example/x)."  # the Markdown
        assert gail.html == (
            '<p>Top <em>level</em>, with a <a href="https://gail.example/x"'
            ' rel="nofollow ugc noopener">link</a>.</p>\n'
        )
        assert (gail.created, gail.modified) == (
            dt.datetime(2022, 3, 2, 10),
            dt.datetime(2022, 3, 2, 11, 0, 0, 500000),  # editedTime
        )
        assert (gail.pinned, gail.likes, gail.dislikes, gail.status) == (
            True,
            5,
            0,
            Status.APPROVED,
        )
        guest = by_author("Guest Hal")  # anonymous, with the name they gave
        assert (guest.parent_id, guest.email, guest.remote_addr) == (
            gail.id,
            None,
            "2001:db8:1234::",
        )
        assert (guest.created, guest.likes, guest.dislikes) == (dt.datetime(2022, 3, 2, 11), 0, 1)
        assert by_text("Held for a moderator").status == Status.PENDING
        rejected = by_text("Rejected junk")  # neither approved nor pending: rejected
        assert (rejected.status, rejected.author, rejected.email) == (
            Status.SPAM,
            "Ivy",
            "ivy@example.org",
        )
        html_only = Comment.get(Comment.thread == closed)
        assert (html_only.text, html_only.html) == (
            "Only **HTML** here",
            "<p>Only <strong>HTML</strong> here</p>",
        )

    def test_deleted_comments_are_placeholders(self, site):
        config, importer = site
        importer.run(COMENTARIO)
        gone = Comment.get(Comment.status == Status.DELETED)
        assert (gone.text, gone.author, gone.parent_id) == (
            "",
            None,
            by_author("Gail Comentario").id,
        )
        tree = shown(config, "/articles/one/")
        assert [node[0][0] for node in tree] == ["Gail Comentario"]
        assert [node[0][0] for node in tree[0][1]] == ["Guest Hal"]  # no replies: not shown

    def test_a_gzip_export_imports_once(self, site, tmp_path):
        _, importer = site
        path = tmp_path / "site.example-1700000000.json.gz"
        path.write_bytes(gzip.compress(COMENTARIO.read_bytes()))
        assert detect(path) == "comentario"
        read = []
        assert importer.run(path, progress=read.append).comments_imported == 6
        assert sum(read) == path.stat().st_size  # the counted pass only
        again = importer.run(COMENTARIO)
        assert (again.comments_imported, again.comments_existing) == (0, 6)


@pytest.mark.parametrize(
    ("fixture", "forced", "message"),
    [
        (COMENTARIO, "commento", "This is a Comentario export (version 3): import it with"),
        (COMMENTO, "comentario", "This is a Commento export (version 1): import it with"),
    ],
)
def test_the_other_version_is_named(site, fixture, forced, message):
    _, importer = site
    with pytest.raises(CommentdError) as caught:
        importer.run(fixture, format=forced)
    assert caught.value.code == "invalid_file"
    assert message in caught.value.message
    assert Comment.select().count() == 0


def test_other_json_is_refused_and_not_mistaken(site, tmp_path):
    _, importer = site
    other = tmp_path / "waline.json"
    other.write_text(json.dumps({"version": 2, "comments": []}))
    assert detect(other) == "json"  # not claimed by Commento's sniffer
    with pytest.raises(CommentdError) as caught:
        importer.run(other, format="commento")
    assert caught.value.code == "invalid_file"
    assert "its version is 2" in caught.value.message
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "comments": [{"commentHex": ')
    with pytest.raises(CommentdError) as caught:
        importer.run(broken)
    assert caught.value.code == "invalid_json"
