"""Remark42 backups imported: what readers and moderators see afterwards."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from commentd.errors import CommentdError
from commentd.services import bans
from commentd.services.importers import detect
from commentd.services.importers.records import voter_of
from commentd.storage.models import AuditEntry, Ban, Comment, Status, Thread, Vote
from tests.services.test_importers import FIXTURES, by_author, shown

BACKUP = FIXTURES / "remark42.jsonl"
HELLO = "/2021/05/hello-remark/"
SKIPPED = {
    "empty comment": 1,
    "not valid JSON": 1,
    "comment without an id or a page url": 1,
    "blocked user without an email: not banned": 1,  # google_cat; email_dan is banned
}


def votes_of(comment: Comment) -> set[tuple[str, int, dt.datetime]]:
    return {(v.voter, v.value, v.created) for v in Vote.select().where(Vote.comment == comment)}


def test_threads_come_from_the_page_urls(site):
    _, importer = site
    assert detect(BACKUP) == "remark42"
    summary = importer.run(BACKUP)
    assert (summary.format, summary.threads_created, summary.comments_imported) == (
        "remark42",
        2,
        5,
    )
    assert summary.skipped == SKIPPED
    hello = Thread.get(Thread.uri == HELLO)
    assert (hello.title, hello.locked) == ("Hello, Remark42", False)
    assert hello.created == dt.datetime(2021, 5, 1, 8, 0, 0, 123456)  # its first comment's
    read_only = Thread.get(Thread.uri == "/2021/06/read-only/?lang=en")
    assert (read_only.title, read_only.locked) == ("Read only — “quotes”", True)  # the header's


def test_every_field_of_a_comment(site):
    _, importer = site
    importer.run(BACKUP)
    ann = by_author("Ann Remark")
    assert ann.html == (
        '<p>Hello <strong>remark</strong>, see <a href="https://example.net/more"'
        ' rel="nofollow ugc noopener">more</a>.</p>\n<p>Second paragraph.</p>\n'
    )
    assert (
        ann.text == "Hello **remark**, see [more](https://example.net/more).\n\nSecond paragraph."
    )
    assert ann.created == dt.datetime(2021, 5, 1, 8, 0, 0, 123456)  # +02:00, nanoseconds cut
    assert ann.modified == dt.datetime(2021, 5, 1, 11, 30)  # edit.time
    assert (ann.email, ann.notify) == ("ann@example.org", True)  # the header's details
    assert ann.remote_addr is None  # Remark42's ip is an HMAC, not an address
    assert (ann.pinned, ann.status, ann.parent_id) == (True, Status.APPROVED, None)
    bob = by_author("Bob")
    assert (bob.parent_id, bob.remote_addr) == (ann.id, "192.0.2.0")  # a real address, cut
    assert (bob.email, bob.notify, bob.pinned, bob.modified) == (None, False, False, None)
    assert bob.html == "<p>Thanks Ann!</p>\n"  # the script is gone
    dan = by_author("Dan")
    assert dan.created == dt.datetime(2021, 6, 10, 11, 15)
    assert dan.html == "<p>Über <em>read-only</em> pages — 日本語も</p>\n"


def test_votes_come_as_voters_or_from_the_score(site):
    _, importer = site
    summary = importer.run(BACKUP)
    assert summary.votes_imported == 4
    ann, bob = by_author("Ann Remark"), by_author("Bob")
    when = dt.datetime(2021, 5, 1, 8, 0, 0, 123456)
    assert votes_of(ann) == {
        (voter_of("remark42", "github_bob"), 1, when),
        (voter_of("remark42", "google_cat"), 1, when),
        (voter_of("remark42", "email_dan"), -1, when),
    }
    assert (ann.likes, ann.dislikes) == (2, 1)
    assert votes_of(bob) == {(voter_of("remark42", "github_ann"), -1, dt.datetime(2021, 5, 1, 12))}
    assert (bob.likes, bob.dislikes) == (0, 1)
    # Current Remark42 writes no voters: the net score becomes likes or dislikes.
    assert (by_author("Cat (blocked)").likes, by_author("Cat (blocked)").dislikes) == (3, 0)
    assert (by_author("Dan").likes, by_author("Dan").dislikes) == (0, 2)
    assert all("github" not in v.voter for v in Vote.select())


def test_deleted_comments_stay_as_placeholders_and_blocked_users_stay_shown(site):
    config, importer = site
    importer.run(BACKUP)
    gone = Comment.get(Comment.status == Status.DELETED)
    assert (gone.text, gone.html, gone.author, gone.parent_id) == (
        "",
        "",
        None,
        by_author("Ann Remark").id,
    )
    cat = by_author("Cat (blocked)")  # blocked in Remark42, which still shows them (dimmed)
    assert (cat.status, cat.parent_id, cat.email) == (Status.APPROVED, gone.id, None)
    tree = shown(config, HELLO)
    assert [node[0][0] for node in tree] == ["Ann Remark"]
    assert [node[0][0] for node in tree[0][1]] == ["Bob", None]
    assert tree[0][1][1][1][0][0][0] == "Cat (blocked)"


def test_importing_twice_adds_nothing(site):
    _, importer = site
    importer.run(BACKUP)
    before = (Thread.select().count(), Comment.select().count(), Vote.select().count())
    again = importer.run(BACKUP)
    assert (again.threads_created, again.comments_imported, again.votes_imported) == (0, 0, 0)
    assert (again.threads_existing, again.comments_existing) == (2, 5)
    assert (Thread.select().count(), Comment.select().count(), Vote.select().count()) == before


def test_a_gzip_backup_is_read_as_remark42_writes_it(site, tmp_path):
    _, importer = site
    path = tmp_path / "userbackup-blog-20240101.gz"
    path.write_bytes(gzip.compress(BACKUP.read_bytes()))
    assert detect(path) == "remark42"
    read = []
    summary = importer.run(path, progress=read.append)
    assert (summary.comments_imported, summary.votes_imported) == (5, 4)
    assert sum(read) == path.stat().st_size  # the progress bar counts the compressed file
    assert importer.run(BACKUP).comments_existing == 5  # the same comments, compressed or not


def test_a_broken_gzip_file_is_a_clear_error(site, tmp_path):
    _, importer = site
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(BACKUP.read_bytes())[:300])
    with pytest.raises(CommentdError) as caught:
        importer.run(path, format="remark42")
    assert caught.value.code == "invalid_file"
    assert "not valid gzip" in caught.value.message


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ('{"format": "commentd-export", "version": 1}', "Not a Remark42 backup"),
        ('{"version": 2, "users": [], "posts": []}', "version 2 is not supported"),
        ("[1, 2]", "Not a Remark42 backup"),
    ],
)
def test_a_file_without_a_remark42_header_is_refused(site, tmp_path, first, message):
    _, importer = site
    path = tmp_path / "other.jsonl"
    path.write_text(first + "\n" + BACKUP.read_text().splitlines()[1] + "\n")
    with pytest.raises(CommentdError) as caught:
        importer.run(path, format="remark42")
    assert caught.value.code == "invalid_file"
    assert message in caught.value.message
    assert Comment.select().count() == 0


def test_sniffing_tells_remark42_from_commentds_own_export(tmp_path):
    ours = tmp_path / "ours.jsonl"
    ours.write_text(json.dumps({"format": "commentd-export", "version": 1}) + "\n")
    assert detect(ours) == "json"
    old = tmp_path / "old.jsonl"  # a header without a version, as Remark42 reads too
    old.write_text('{ "users" : null, "posts": null}\n')
    assert detect(old) == "remark42"


def remark42_file(tmp_path, users):
    """A backup of one comment, with these users in its header."""
    header = {"version": 1, "users": users, "posts": []}
    comment = {
        "id": "c1",
        "text": "<p>hi</p>",
        "user": {"name": "Eve", "id": "email_eve", "block": True},
        "locator": {"site": "blog", "url": "https://blog.example.org/p/"},
        "time": "2021-05-01T08:00:00Z",
    }
    path = tmp_path / "backup.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(comment) + "\n", encoding="utf-8")
    return path


def blocked(user_id, until, email=None):
    details = {"user_id": user_id} | ({"email": email} if email else {})
    return {"id": user_id, "blocked": {"status": True, "until": until}, "details": details}


def test_blocked_users_with_an_email_are_banned_once(site):
    _, importer = site
    summary = importer.run(BACKUP)
    assert (summary.bans_imported, summary.bans_existing) == (1, 0)
    ban = Ban.get()
    # Dan's block runs for a century: for good; the email in its normal form
    assert (ban.kind, ban.value, ban.reason) == ("email", "dan@example.org", "blocked in Remark42")
    assert bans.lists().emails == ("dan@example.org",)
    entry = AuditEntry.get(AuditEntry.action == "ban")
    assert (entry.actor, entry.target_id) == ("system", ban.id)  # the import's actor
    again = importer.run(BACKUP)
    assert (again.bans_imported, again.bans_existing) == (0, 1)
    assert Ban.select().count() == 1


def test_a_temporary_block_becomes_a_ban_noting_its_end_and_an_ended_one_nothing(site, tmp_path):
    _, importer = site
    users = [
        blocked("email_eve", "2031-01-01T00:00:00Z", "eve@example.org"),
        blocked("email_old", "2001-01-01T00:00:00Z", "old@example.org"),  # over
        blocked("email_twin", "0001-01-01T00:00:00Z", "EVE@example.org"),  # same email
        {"id": "email_free", "blocked": {"status": False}, "details": {"email": "f@example.org"}},
    ]
    summary = importer.run(remark42_file(tmp_path, users))
    assert (summary.bans_imported, summary.bans_existing) == (1, 1)
    assert summary.skipped == {"blocked user whose block has ended": 1}
    assert [(b.value, b.reason) for b in Ban.select()] == [
        ("eve@example.org", "blocked in Remark42 until 2031-01-01")
    ]
    assert by_author("Eve").status == Status.APPROVED  # shown, as Remark42 shows it


def test_a_dry_run_counts_the_bans_and_writes_none(site, tmp_path):
    _, importer = site
    users = [
        blocked("email_eve", "2031-01-01T00:00:00Z", "eve@example.org"),
        blocked("email_twin", "2031-01-01T00:00:00Z", "eve@example.org"),
    ]
    path = remark42_file(tmp_path, users)
    dry = importer.run(path, dry_run=True)
    assert (dry.bans_imported, dry.bans_existing) == (1, 1)
    assert Ban.select().count() == 0
    real = importer.run(path)
    assert (real.bans_imported, real.bans_existing) == (1, 1)
    assert Ban.select().count() == 1
