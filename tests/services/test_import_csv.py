"""CSV files of comments imported: what readers and moderators see afterwards."""

from __future__ import annotations

import datetime as dt

import pytest

from commentd.errors import CommentdError
from commentd.services.importers import detect
from commentd.storage.models import Comment, Status, Thread
from tests.services.test_importers import FIXTURES, by_author, shown

CSV = FIXTURES / "comments.csv"
POST = "/blog/csv-post?lang=en"
OTHER = "/blog/other/"
SKIPPED = {
    "row 8: created 'yesterday' is not an ISO 8601 time": 1,
    "row 9: unknown status 'rejected' (approved, pending, spam or deleted)": 1,
    "row 10: likes 'many' is not a whole number": 1,
    "row 11: no id": 1,
    "row 12: no thread_uri": 1,
    "row 13: no text": 1,
    "row 14: unknown format 'rtf' (markdown, html or text)": 1,
}


def csv_file(tmp_path, text: str, name: str = "comments.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_rows_become_threads_and_comments_and_bad_rows_say_where(site):
    _, importer = site
    assert detect(CSV) == "csv"
    summary = importer.run(CSV)
    assert (summary.format, summary.threads_created, summary.comments_imported) == ("csv", 2, 7)
    assert summary.skipped == SKIPPED
    post = Thread.get(Thread.uri == POST)  # the URL's path and query
    assert (post.title, post.created, post.locked) == (
        "A post, with a comma",  # the thread's first row's title; later ones are ignored
        dt.datetime(2022, 1, 10, 9, 0),
        False,
    )
    assert Thread.get(Thread.uri == OTHER).title == "Other post"


def test_every_column(site):
    _, importer = site
    importer.run(CSV)
    quinn = by_author("Quinn")  # a quoted text with a line break in it, Markdown
    assert quinn.text == "Markdown **works**, and\na quoted field spans lines."
    assert (
        quinn.html == "<p>Markdown <strong>works</strong>, and\na quoted field spans lines.</p>\n"
    )
    assert (quinn.email, quinn.website, quinn.remote_addr) == (
        "quinn@example.com",
        "https://quinn.example",
        "203.0.113.0",
    )
    assert (quinn.created, quinn.status, quinn.likes, quinn.dislikes, quinn.parent_id) == (
        dt.datetime(2022, 1, 10, 9, 0),
        Status.APPROVED,
        4,
        1,
        None,
    )
    rory = by_author("Rory")  # HTML, sanitized; no status: approved; a zone: in UTC
    assert rory.html == "<p>HTML <em>body</em></p>"
    assert rory.text == "HTML *body*"
    assert (rory.status, rory.created, rory.remote_addr) == (
        Status.APPROVED,
        dt.datetime(2022, 1, 10, 9, 30),
        "2001:db8:5::",
    )
    assert (rory.email, rory.website, rory.likes, rory.dislikes) == (None, None, 0, 0)
    sam = by_author("Sam")  # plain text: nothing in it is markup
    assert sam.html == "<p>Plain text: *not* emphasis &amp; &lt;b&gt;not bold&lt;/b&gt;</p>\n"
    assert (sam.status, sam.created, sam.remote_addr) == (
        Status.PENDING,
        dt.datetime(2022, 1, 11, 8, 0),
        None,
    )
    assert by_author("Spammer").status == Status.SPAM  # statuses ignore case
    gone = Comment.get(Comment.status == Status.DELETED)
    assert (gone.text, gone.author, gone.thread.uri) == ("", None, OTHER)


def test_parents_are_ids_of_the_same_thread(site):
    config, importer = site
    importer.run(CSV)
    quinn, rory, sam = by_author("Quinn"), by_author("Rory"), by_author("Sam")
    assert (rory.parent_id, sam.parent_id) == (quinn.id, rory.id)
    same_id = by_author("Same Id")  # id 1 again, in another thread: another comment
    assert by_author("Replier").parent_id == same_id.id
    assert by_author("Replier").dislikes == 2
    tree = shown(config, POST)
    assert [node[0][0] for node in tree] == ["Quinn"]
    assert [node[0][0] for node in tree[0][1]] == ["Rory"]
    assert tree[0][1][0][1] == []  # Sam's reply is pending


def test_importing_twice_adds_nothing(site):
    _, importer = site
    importer.run(CSV)
    again = importer.run(CSV)
    assert (again.threads_created, again.comments_imported) == (0, 0)
    assert (again.threads_existing, again.comments_existing) == (2, 7)
    assert (Thread.select().count(), Comment.select().count()) == (2, 7)


def test_only_the_required_columns_and_any_order(site, tmp_path):
    _, importer = site
    path = csv_file(tmp_path, "text,thread_uri,id\nJust text,/min/,a\n")
    assert detect(path) == "csv"
    summary = importer.run(path)
    assert summary.comments_imported == 1
    comment = Comment.get()
    assert (comment.text, comment.author, comment.status, comment.thread.uri) == (
        "Just text",
        None,
        Status.APPROVED,
        "/min/",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,thread_uri,author\n1,/x/,Ann\n", "its first row has no text column"),
        ("", "its first row has no id, thread_uri, text column"),
    ],
)
def test_a_header_without_the_required_columns_is_refused(site, tmp_path, text, message):
    _, importer = site
    with pytest.raises(CommentdError) as caught:
        importer.run(csv_file(tmp_path, text), format="csv")
    assert caught.value.code == "invalid_file"
    assert message in caught.value.message


def test_a_file_that_is_not_utf8_is_refused_with_its_line(site, tmp_path):
    _, importer = site
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,thread_uri,text\n1,/x/,ok\n2,/x/,Café\n".encode("latin-1"))
    with pytest.raises(CommentdError) as caught:
        importer.run(path)
    assert (caught.value.code, caught.value.message) == (
        "invalid_file",
        "The CSV file is not UTF-8 (line 3).",
    )


def test_an_unreadable_row_stops_the_import_with_its_row(site, tmp_path):
    _, importer = site
    huge = "x" * 200_000  # past the csv module's field limit
    path = csv_file(tmp_path, f"id,thread_uri,text\n1,/x/,fine\n2,/x/,{huge}\n")
    with pytest.raises(CommentdError) as caught:
        importer.run(path)
    assert caught.value.code == "invalid_file"
    assert caught.value.message.startswith("The CSV file cannot be read at row 3: field larger")
