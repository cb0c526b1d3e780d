"""Importers against realistic export files: what ends up in the threads readers see."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from commentd.errors import CommentdError
from commentd.services.clients import Client
from commentd.services.comments import CommentService
from commentd.services.export import lines
from commentd.services.importers import Importer, detect
from commentd.services.keys import Keys
from commentd.services.site import open_site
from commentd.services.threads import ThreadService
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status, Thread, text_hash

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def shown(config, uri):
    """The thread as readers get it: (author, html) per node, replies nested."""

    def walk(nodes):
        return [((n.comment.author, n.comment.html), walk(n.replies)) for n in nodes]

    return walk(ThreadService(config).page(uri).comments)


def by_author(author):
    return Comment.get(Comment.author == author)


DELETED_THREAD = """<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
  <thread dsq:id="1"><link>https://blog.example.com/gone/</link><title>Gone</title>
    <isClosed>false</isClosed><isDeleted>true</isDeleted></thread>
  <thread dsq:id="2"><link>https://blog.example.com/here/</link><title>Here</title>
    <isClosed>false</isClosed><isDeleted>false</isDeleted></thread>
  <post dsq:id="11"><message>&lt;p&gt;on a deleted page&lt;/p&gt;</message>
    <isDeleted>false</isDeleted><isSpam>false</isSpam><thread dsq:id="1" /></post>
  <post dsq:id="12"><message>&lt;p&gt;a reply there&lt;/p&gt;</message><parent dsq:id="11" />
    <isDeleted>false</isDeleted><isSpam>false</isSpam><thread dsq:id="1" /></post>
  <post dsq:id="13"><message>&lt;p&gt;spam there&lt;/p&gt;</message>
    <isDeleted>false</isDeleted><isSpam>true</isSpam><thread dsq:id="1" /></post>
  <post dsq:id="21"><message>&lt;p&gt;on a live page&lt;/p&gt;</message>
    <isDeleted>false</isDeleted><isSpam>false</isSpam><thread dsq:id="2" /></post>
</disqus>
"""


class TestDisqus:
    def test_a_deleted_threads_comments_are_imported_hidden_and_counted(self, site, tmp_path):
        config, importer = site
        path = tmp_path / "disqus.xml"
        path.write_text(DELETED_THREAD, encoding="utf-8")
        summary = importer.run(path)
        assert (summary.comments_imported, summary.comments_hidden) == (4, 2)
        assert shown(config, "/gone/") == []  # nothing of it is public
        assert Thread.get(Thread.uri == "/gone/").locked
        statuses = {c.text: c.status for c in Comment.select()}
        assert statuses == {
            "on a deleted page": Status.PENDING,  # kept for a moderator to approve
            "a reply there": Status.PENDING,
            "spam there": Status.SPAM,
            "on a live page": Status.APPROVED,
        }
        assert [n[0][0] for n in shown(config, "/here/")] == [None]

    def test_threads_posts_nesting_and_flags(self, site):
        config, importer = site
        summary = importer.run(FIXTURES / "disqus.xml")
        assert (summary.format, summary.threads_created, summary.comments_imported) == (
            "disqus",
            2,
            6,
        )
        assert summary.skipped == {
            "thread without an id or a link": 1,
            "comment of an unknown or skipped thread": 1,
            "empty comment": 1,
        }
        hello = Thread.get(Thread.uri == "/2019/hello-world/")
        assert hello.title == "Hello, world"
        assert hello.created == dt.datetime(2019, 3, 1, 10, 0)
        uber = Thread.get(Thread.uri == "/2019/%C3%BCber-uns/?lang=de")
        assert (uber.title, uber.locked) == ("Über uns — “quotes”", True)

        ann, owner, bob = by_author("Ann Onymous"), by_author("Blog Owner"), by_author("Bob")
        assert owner.parent_id == ann.id
        assert bob.parent_id == owner.id  # its parent came later in the file
        assert ann.created == dt.datetime(2019, 3, 1, 11, 0)
        assert (ann.email, ann.remote_addr) == ("ann@example.com", "198.51.100.0")
        assert owner.remote_addr == "2001:db8:abcd::"
        assert ann.text == (
            "First! Great **post**, see [more](https://example.org/more).\n\nSecond paragraph."
        )
        assert Comment.get(Comment.author == "Spammer").status == Status.SPAM
        jurgen = by_author("Jürgen")
        assert jurgen.email is None  # not an address: dropped, not imported as garbage
        assert "日本語もOK" in jurgen.html

        tree = shown(config, "/2019/hello-world/")
        assert [node[0][0] for node in tree] == ["Ann Onymous"]
        assert tree[0][1][0][0][0] == "Blog Owner"
        assert tree[0][1][0][1][0][0][0] == "Bob"

    def test_html_is_sanitized_like_new_comments(self, site):
        _, importer = site
        importer.run(FIXTURES / "disqus.xml")
        html = by_author("Blog Owner").html
        for bad in ("<script", "onerror", "javascript:"):
            assert bad not in html
        assert "alert('xss')" not in html
        assert html.startswith("<p>Thanks Ann! ")
        assert 'rel="nofollow ugc noopener"' in by_author("Ann Onymous").html

    def test_deleted_posts_are_erased(self, site):
        _, importer = site
        importer.run(FIXTURES / "disqus.xml")
        gone = Comment.get(Comment.status == Status.DELETED)
        assert (gone.text, gone.text_hash, gone.author, gone.email) == ("", None, None, None)

    def test_imported_text_is_found_by_the_double_post_check(self, site):
        _, importer = site
        importer.run(FIXTURES / "disqus.xml")
        kept = Comment.select().where(Comment.status != Status.DELETED)
        assert kept.count() > 0
        assert all(c.text_hash == text_hash(c.text) for c in kept)

    def test_importing_twice_adds_nothing(self, site):
        _, importer = site
        importer.run(FIXTURES / "disqus.xml")
        before = (Thread.select().count(), Comment.select().count())
        again = importer.run(FIXTURES / "disqus.xml")
        assert (again.threads_created, again.comments_imported) == (0, 0)
        assert (again.threads_existing, again.comments_existing) == (2, 6)
        assert (Thread.select().count(), Comment.select().count()) == before

    def test_dry_run_writes_nothing_and_says_what_it_would_do(self, site):
        _, importer = site
        summary = importer.run(FIXTURES / "disqus.xml", dry_run=True)
        assert (summary.threads_created, summary.comments_imported) == (2, 6)
        assert (Thread.select().count(), Comment.select().count()) == (0, 0)


class TestWordPress:
    def test_comments_parents_states_and_pingbacks(self, site):
        config, importer = site
        summary = importer.run(FIXTURES / "wordpress.xml")
        assert (summary.format, summary.threads_created, summary.comments_imported) == (
            "wordpress",
            2,
            6,
        )
        assert summary.skipped == {"pingback": 1}
        first = Thread.get(Thread.uri == "/2020/01/first-post/")
        assert first.title == "First post & more"
        assert Thread.get(Thread.uri == "/2020/02/closed/").locked is True
        assert not Thread.select().where(Thread.uri == "/about/").exists()

        carla = by_author("Carla")
        assert carla.created == dt.datetime(2020, 1, 2, 11, 0)  # the GMT time
        assert carla.website == "http://carla.example.net"
        assert carla.html == (
            "<p>Loved it.<br>\nLine two.</p>\n"
            "<p>New paragraph with <strong>bold</strong> &amp; an ampersand.</p>\n"
        )
        assert by_author("admin").parent_id == carla.id
        assert by_author("Waiting Will").status == Status.PENDING
        assert by_author("Buy Now").status == Status.SPAM
        assert Comment.get(Comment.status == Status.DELETED).text == ""
        assert by_author("Dana").created == dt.datetime(2020, 2, 3, 10, 0)
        assert [n[0][0] for n in shown(config, "/2020/01/first-post/")] == ["Carla"]

    def test_blocks_and_code_keep_their_layout_as_wordpress_shows_them(self, site, tmp_path):
        _, importer = site
        contents = {
            "Quoting": "Quote:\n<blockquote>They said so.</blockquote>\n\nMy reply\nline two",
            "Lister": "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n\nAfter the list.",
            "Coder": "Look: <pre><code>a = 1\n\nb = 2\n</code></pre>",
        }
        comments = "".join(
            f"<wp:comment><wp:comment_id>{n}</wp:comment_id>"
            f"<wp:comment_author>{author}</wp:comment_author>"
            f"<wp:comment_date_gmt>2020-01-02 11:00:00</wp:comment_date_gmt>"
            f"<wp:comment_content><![CDATA[{text}]]></wp:comment_content>"
            f"<wp:comment_approved>1</wp:comment_approved></wp:comment>"
            for n, (author, text) in enumerate(contents.items(), start=1)
        )
        path = tmp_path / "blocks.xml"
        path.write_text(
            '<?xml version="1.0"?><rss version="2.0" '
            'xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>'
            "<title>Blocks</title><link>https://wp.example.com/blocks/</link>"
            f"<wp:post_id>1</wp:post_id>{comments}</item></channel></rss>"
        )
        assert importer.run(path).comments_imported == 3
        assert by_author("Quoting").html == (
            "<p>Quote:</p>\n<blockquote>\n<p>They said so.</p>\n</blockquote>\n"
            "<p>My reply<br>\nline two</p>\n"
        )
        assert by_author("Lister").html == (
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<p>After the list.</p>\n"
        )
        assert by_author("Coder").html == "<p>Look:</p>\n<pre><code>a = 1\n\nb = 2\n</code></pre>\n"

    def test_pingbacks_can_be_kept(self, site):
        _, importer = site
        summary = importer.run(FIXTURES / "wordpress.xml", keep_pings=True)
        assert summary.comments_imported == 7
        assert "a pingback excerpt" in by_author("Some Blog").html


ISSO_SCHEMA = """
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
    text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,
    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
    notification INTEGER DEFAULT 0);
CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
"""


@pytest.fixture
def isso_db(tmp_path):
    path = tmp_path / "comments.db"
    db = sqlite3.connect(path)
    db.executescript(ISSO_SCHEMA)
    db.execute("INSERT INTO threads VALUES (1, '/isso/post/', 'An Isso post')")
    db.execute("INSERT INTO threads VALUES (2, '/isso/empty/', NULL)")
    base = {"parent": None, "modified": None, "mode": 1, "email": None, "website": None}
    base |= {"likes": 0, "dislikes": 0, "voters": b"", "notification": 0}
    rows = [
        {"id": 1, "created": 1600000000.5, "text": "Hello *isso*", "author": "Iris"}
        | {"email": "i@e.com", "website": "", "likes": 3, "dislikes": 1, "notification": 1},
        {"id": 2, "parent": 1, "created": 1600000100.0, "modified": 1600000200.0}
        | {"text": "A reply", "author": "Ivo", "website": "https://ivo.example"},
        {"id": 3, "created": 1600000300.0, "mode": 2, "text": "Pending one", "author": "Pat"},
        {"id": 4, "parent": 1, "created": 1600000400.0, "mode": 4, "text": "", "author": None},
        {
            "id": 5,
            "parent": 4,
            "created": 1600000500.0,
            "text": "Reply to deleted",
            "author": "Rae",
        },
    ]
    for row in rows:
        row = {"tid": 1, **base, "remote_addr": f"192.0.2.{row['id']}", **row}
        columns = ", ".join(row)
        db.execute(
            f"INSERT INTO comments ({columns}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    db.commit()
    db.close()
    return path


class TestIsso:
    def test_threads_comments_modes_votes(self, site, isso_db):
        config, importer = site
        assert detect(isso_db) == "isso"
        summary = importer.run(isso_db)
        assert (summary.threads_created, summary.comments_imported) == (2, 5)
        iris = by_author("Iris")
        assert (iris.text, iris.html) == ("Hello *isso*", "<p>Hello <em>isso</em></p>\n")
        assert (iris.likes, iris.dislikes, iris.notify) == (3, 1, True)
        assert iris.created == dt.datetime(2020, 9, 13, 12, 26, 40, 500000)
        ivo = by_author("Ivo")
        assert ivo.parent_id == iris.id
        assert ivo.modified == dt.datetime(2020, 9, 13, 12, 30, 0)
        assert by_author("Pat").status == Status.PENDING
        rae = by_author("Rae")
        assert Comment.get_by_id(rae.parent_id).status == Status.DELETED
        tree = shown(config, "/isso/post/")
        assert [n[0][0] for n in tree] == ["Iris"]
        assert [n[0][0] for n in tree[0][1]] == ["Ivo", None]  # the deleted placeholder stays
        assert importer.run(isso_db).comments_imported == 0

    def test_new_votes_add_to_the_imported_counts(self, site, isso_db):
        """Isso keeps counts, not voters: 3 likes and 1 dislike stay when readers vote on."""
        config, importer = site
        importer.run(isso_db)
        iris = by_author("Iris").id
        comments = CommentService(config, Keys.from_secret(config.security.secret))
        comments.vote(iris, 1, Client("198.51.100.1"), reader_id="r" * 32)
        assert (by_author("Iris").likes, by_author("Iris").dislikes) == (4, 1)
        comments.vote(iris, -1, Client("198.51.100.2"), reader_id="s" * 32)
        comments.vote(iris, 0, Client("198.51.100.1"), reader_id="r" * 32)  # withdrawn
        assert (by_author("Iris").likes, by_author("Iris").dislikes) == (3, 2)
        importer.run(isso_db)  # importing the file again changes nothing
        assert (by_author("Iris").likes, by_author("Iris").dislikes) == (3, 2)

    def test_a_file_that_is_not_isso_is_refused(self, site, tmp_path):
        _, importer = site
        other = tmp_path / "other.db"
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
        with pytest.raises(CommentdError) as caught:
            importer.run(other, format="isso")
        assert caught.value.code == "invalid_file"


class TestHostileFiles:
    @pytest.mark.parametrize("name", ["xxe.xml", "billion-laughs.xml"])
    def test_entity_declarations_are_refused(self, site, name):
        _, importer = site
        with pytest.raises(CommentdError) as caught:
            importer.run(FIXTURES / name, format="disqus")
        assert caught.value.code == "unsafe_xml"
        assert Thread.select().count() == 0

    def test_malformed_xml_is_a_clear_error(self, site, tmp_path):
        _, importer = site
        bad = tmp_path / "bad.xml"
        bad.write_text('<?xml version="1.0"?><disqus xmlns="http://disqus.com"><thread>')
        with pytest.raises(CommentdError) as caught:
            importer.run(bad)
        assert caught.value.code == "invalid_xml"

    def test_unknown_formats_are_named(self, site, tmp_path):
        _, importer = site
        odd = tmp_path / "odd.txt"
        odd.write_text("hello")
        with pytest.raises(CommentdError) as caught:
            importer.run(odd)
        assert caught.value.code == "unknown_format"
        with pytest.raises(CommentdError):
            importer.run(tmp_path / "missing.xml")


def test_export_then_import_into_an_empty_database_gives_the_same_data(site, make_config, tmp_path):
    config, _ = site
    comments = CommentService(config, Keys.from_secret(config.security.secret))
    root = comments.create(
        "/rt/", {"text": "Root *one*", "author": "A", "email": "a@e.com"}, Client("192.0.2.1")
    )
    reply = comments.create(
        "/rt/",
        {"text": "reply", "parent": root.comment.id, "notify": True, "email": "b@e.com"},
        Client("192.0.2.2"),
    )
    comments.create(
        "/rt2/", {"text": "other thread", "website": "https://w.example"}, Client("192.0.2.3")
    )
    comments.vote(root.comment.id, 1, Client("198.51.100.1"))
    comments.vote(reply.comment.id, -1, Client("198.51.100.1"))
    comments.delete(reply.comment.id, reply.token)  # fmt: skip
    exported = "".join(lines())
    path = tmp_path / "export.jsonl"
    path.write_text(exported)

    fresh = make_config(**{"database.url": f"sqlite:///{tmp_path / 'fresh.db'}"})
    open_site(fresh)
    with connection():
        summary = Importer(fresh, Keys.from_secret(fresh.security.secret)).run(path)
        assert (summary.format, summary.comments_imported, summary.votes_imported) == (
            "json",
            3,
            2,
        )
        again = "".join(lines())
    body = [json.loads(line) for line in exported.splitlines()[1:]]
    assert body == [json.loads(line) for line in again.splitlines()[1:]]
    assert all("secret" not in line for line in exported.splitlines())


def test_a_record_repeated_in_one_file_is_imported_once_across_batches(site, tmp_path, monkeypatch):
    _, importer = site
    monkeypatch.setattr("commentd.services.importers.BATCH", 2)
    header = {"format": "commentd-export", "version": 1}
    thread = {"type": "thread", "id": 1, "uri": "/dup/", "created": "2024-01-01T00:00:00Z"}
    comment = {"type": "comment", "id": 7, "thread": 1, "parent": None, "status": "approved"}
    comment |= {"text": "once", "created": "2024-01-02T00:00:00Z"}
    reply = comment | {"id": 8, "parent": 7, "text": "reply"}
    lines_ = [header, thread, comment, {"type": "setting", "key": "k", "value": "v"}]
    lines_ += [comment, reply, comment]
    path = tmp_path / "dup.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines_))
    summary = importer.run(path)
    assert (summary.comments_imported, summary.comments_existing) == (2, 2)
    assert [c.text for c in Comment.select().order_by(Comment.id)] == ["once", "reply"]
    assert Comment.get(Comment.text == "reply").parent_id == Comment.get(Comment.text == "once").id


def test_replies_find_parents_that_memory_has_let_go_of(site, monkeypatch):
    """With tiny batches and a one-entry memory, parents are found again in the database."""
    _, importer = site
    monkeypatch.setattr("commentd.services.importers.BATCH", 1)
    monkeypatch.setattr("commentd.services.importers.RECENT", 1)
    importer.run(FIXTURES / "disqus.xml")
    ann, owner, bob = by_author("Ann Onymous"), by_author("Blog Owner"), by_author("Bob")
    assert (owner.parent_id, bob.parent_id) == (ann.id, owner.id)


def test_a_json_export_keeps_its_html_sanitized_again_or_renders_the_text(site, tmp_path):
    _, importer = site
    export = tmp_path / "site.jsonl"
    rows = [
        {"format": "commentd-export", "version": 1},
        {"type": "thread", "id": 1, "uri": "/j/"},
        {
            "type": "comment",
            "id": 1,
            "thread": 1,
            "status": "approved",
            "text": "*kept*",
            "html": '<p><em>kept</em><script>alert(1)</script><a href="javascript:x">x</a></p>',
        },
        {"type": "comment", "id": 2, "thread": 1, "status": "approved", "text": "*rendered*"},
    ]
    export.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    importer.run(export)
    html = {c.text: c.html for c in Comment.select()}
    assert html == {
        "*kept*": '<p><em>kept</em><a rel="nofollow ugc noopener">x</a></p>',
        "*rendered*": "<p><em>rendered</em></p>\n",
    }


def test_votes_a_later_import_brings_settle_the_counts_an_earlier_one_wrote(site, tmp_path):
    """A comment imported with 3 likes, then its voters: one of the 3 is now a vote row, so
    its base is 2, the count stays 3, and the thread's cached reads are invalidated."""
    _, importer = site
    header = {"format": "commentd-export", "version": 1}
    thread = {"type": "thread", "id": 1, "uri": "/votes/"}
    comment = {"type": "comment", "id": 7, "thread": 1, "status": "approved", "text": "hi"}
    comment |= {"likes": 3, "dislikes": 1}
    vote = {"type": "vote", "comment": 7, "voter": "v1", "value": 1}
    vote |= {"created": "2024-01-02T00:00:00Z"}
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(json.dumps(line) + "\n" for line in [header, thread, comment]))
    second.write_text("".join(json.dumps(line) + "\n" for line in [header, thread, comment, vote]))
    importer.run(first)
    imported = Comment.get()
    assert (imported.likes, imported.likes_base, imported.dislikes_base) == (3, 3, 1)
    version = Thread.get().version
    summary = importer.run(second)
    assert (summary.comments_imported, summary.votes_imported) == (0, 1)
    settled = Comment.get()
    assert (settled.likes, settled.likes_base, settled.dislikes, settled.dislikes_base) == (
        3,
        2,
        1,
        1,
    )
    assert Thread.get().version > version
