"""``commentd stats``, ``purge``, ``privacy`` and ``check``."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from commentd.storage.database import connection
from commentd.storage.models import Comment, Status
from tests.cli.helpers import age, failed
from tests.net import free_port


@pytest.fixture
def shell(cli_site):
    """``start(**settings)``: a live site, its API client and a CLI runner on its database."""
    return cli_site


def post(client, uri="/post/", **fields) -> int:
    response = client.post_comment(uri, **fields)
    assert response.status == 201, response.raw
    return response.json["comment"]["id"]


def stored(comment_id: int) -> Comment | None:
    with connection():
        return Comment.get_or_none(Comment.id == comment_id)


def rows(lines: list[str]) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in lines if line.strip()]


class TestStats:
    def test_counts_by_status_thread_and_day(self, shell):
        client, run = shell()
        a1, _, _ = post(client, "/a/"), post(client, "/a/"), post(client, "/a/")
        post(client, "/b/")
        spam = post(client, "/b/")
        run("comments", "spam", str(spam))
        age(a1, 2)
        data = json.loads(run("stats", "--json", "--days", "3").output)
        assert data["by_status"] == {"approved": 4, "pending": 0, "spam": 1, "deleted": 0}
        assert data["threads"] == 2
        assert data["top_threads"] == [{"uri": "/a/", "approved": 3}, {"uri": "/b/", "approved": 1}]
        today = dt.datetime.now(dt.timezone.utc).date()
        assert data["by_day"] == [
            {"day": (today - dt.timedelta(days=2)).isoformat(), "comments": 1},
            {"day": (today - dt.timedelta(days=1)).isoformat(), "comments": 0},
            {"day": today.isoformat(), "comments": 4},
        ]

        out = run("stats", "--days", "3").output.split("\n\n")
        assert rows(out[0].splitlines()) == [
            ["STATUS", "COMMENTS"],
            ["approved", "4"],
            ["deleted", "0"],
            ["pending", "0"],
            ["spam", "1"],
        ]
        busiest = out[1].splitlines()
        assert busiest[0] == "2 threads; the busiest:"
        assert rows(busiest[1:]) == [["THREAD", "APPROVED"], ["/a/", "3"], ["/b/", "1"]]
        days = out[2].splitlines()
        assert days[0] == "new comments, last 3 days:"
        assert rows(days[2:]) == [
            [(today - dt.timedelta(days=2)).isoformat(), "1", "#" * 8],
            [(today - dt.timedelta(days=1)).isoformat(), "0"],
            [today.isoformat(), "4", "#" * 30],
        ]

    def test_an_empty_site(self, shell):
        _, run = shell()
        data = json.loads(run("stats", "--json", "--days", "1").output)
        assert data["by_status"] == {"approved": 0, "pending": 0, "spam": 0, "deleted": 0}
        assert (data["threads"], data["top_threads"], len(data["by_day"])) == (0, [], 1)
        assert "0 threads; the busiest:" in run("stats").output
        failed(run("stats", "--days", "0", ok=False), "--days", code=2)


class TestPurge:
    def test_old_held_and_spam_go_new_ones_stay_networks_are_erased(self, shell):
        client, run = shell(**{"moderation.mode": "all"})
        old_pending, new_pending = post(client, text="old held"), post(client, text="new held")
        old_spam, new_spam = post(client, text="old spam"), post(client, text="new spam")
        old_ok, new_ok = post(client, text="old fine"), post(client, text="new fine")
        run("comments", "spam", str(old_spam), str(new_spam))
        run("comments", "approve", str(old_ok), str(new_ok))
        for comment_id in (old_pending, old_spam, old_ok):
            age(comment_id, 40)
        assert stored(old_ok).remote_addr is not None

        result = run(
            "purge",
            "--pending-older-than",
            "30d",
            "--spam-older-than",
            "4w",
            "--ip-older-than",
            "1w",
        )
        assert result.output == "purged 1 pending and 1 spam comments; erased 1 stored networks\n"
        assert stored(old_pending) is None
        assert stored(old_spam) is None
        assert stored(new_pending).status == Status.PENDING
        assert stored(new_spam).status == Status.SPAM
        assert stored(old_ok).remote_addr is None
        assert stored(new_ok).remote_addr is not None
        assert [c["id"] for c in client.thread().json["comments"]] == [old_ok, new_ok]

        again = run("purge", "--pending-older-than", "30d", "--ip-older-than", "1w")
        assert again.output == "purged 0 pending and 0 spam comments; erased 0 stored networks\n"

    def test_an_old_held_comment_with_replies_stays_as_a_placeholder(self, shell):
        client, run = shell(**{"moderation.mode": "all"})
        parent = post(client, text="held parent")
        reply = post(client, text="reply", parent=parent)
        age(parent, 40)
        result = run("purge", "--pending-older-than", "30d")
        assert result.output.startswith("purged 1 pending")
        kept = stored(parent)
        assert (kept.status, kept.text) == (Status.DELETED, "")
        assert stored(reply).parent_id == parent

    def test_bad_or_missing_durations_are_usage_errors(self, shell):
        client, run = shell()
        post(client)
        failed(
            run("purge", "--spam-older-than", "soon", ok=False),
            "'soon' is not a duration such as 30d, 12h or 1w",
            code=2,
        )
        failed(run("purge", "--ip-older-than", "-1d", ok=False), "is not a duration", code=2)
        failed(run("purge", ok=False), "Say what to purge", code=2)
        with connection():
            assert Comment.select().where(Comment.remote_addr.is_null(False)).count() == 1


class TestPrivacy:
    def test_export_lists_only_that_persons_comments(self, shell):
        client, run = shell()
        ann1 = post(client, text="ann one", author="Ann", email="Ann@Example.com")
        ann2 = post(client, "/other/", text="ann two", email="ann@example.com")
        post(client, text="bob", author="Bob", email="bob@example.com")
        data = json.loads(run("privacy", "export", "--email", " ANN@example.COM ").output)
        assert [c["id"] for c in data["comments"]] == [ann1, ann2]
        first = data["comments"][0]
        assert (first["thread"], first["text"], first["author"], first["email"]) == (
            "/post/",
            "ann one",
            "Ann",
            "ann@example.com",  # stored in its normal form
        )
        assert first["status"] == "approved"
        assert first["created"].endswith("Z")
        assert first["network"]
        assert {"website", "modified", "notify", "likes", "dislikes"} <= first.keys()
        none = json.loads(run("privacy", "export", "--email", "nobody@example.com").output)
        assert none["comments"] == []
        failed(run("privacy", "export", "--email", "ann", ok=False), "Give the person's email")
        failed(run("privacy", "export", ok=False), "Missing option '--email'", code=2)

    def test_delete_anonymize_keeps_the_text(self, shell):
        client, run = shell()
        ann = post(client, text="ann's words", author="Ann", email="ann@example.com")
        bob = post(client, text="bob's words", author="Bob", email="bob@example.com")
        result = run(
            "privacy", "delete", "--email", "ANN@example.com", "--mode", "anonymize", "--yes"
        )
        assert result.output.endswith("anonymized 1 comments\n")
        shown = {c["id"]: c for c in client.thread().json["comments"]}
        assert (shown[ann]["author"], shown[ann]["html"]) == (None, "<p>ann's words</p>\n")
        assert shown[bob]["author"] == "Bob"
        kept = stored(ann)
        assert (kept.email, kept.remote_addr, kept.text) == (None, None, "ann's words")
        assert json.loads(run("privacy", "export", "--email", "ann@example.com").output) == {
            "email": "ann@example.com",
            "comments": [],
            "subscription": None,
        }

    def test_delete_erase_removes_text_and_identity(self, shell):
        client, run = shell()
        ann = post(client, text="ann's words", author="Ann", email="ann@example.com")
        post(client, text="a reply keeps the placeholder", parent=ann)
        bob = post(client, text="bob's words", author="Bob", email="bob@example.com")
        result = run("privacy", "delete", "--email", "ann@example.com", "--yes")
        assert result.output == "erased 1 comments\n"
        shown = {c["id"]: c for c in client.thread().json["comments"]}
        assert (shown[ann]["status"], shown[ann]["author"], shown[ann]["html"]) == (
            "deleted",
            None,
            "",
        )
        assert shown[bob]["html"] == "<p>bob's words</p>\n"
        gone = stored(ann)
        assert (gone.text, gone.author, gone.email, gone.remote_addr) == ("", None, None, None)
        assert gone.text_hash is None  # nothing derived from the words is kept either

    def test_delete_asks_first_and_no_changes_nothing(self, shell):
        client, run = shell()
        ann = post(client, text="ann's words", author="Ann", email="ann@example.com")
        refused = run("privacy", "delete", "--email", "ann@example.com", input="n\n", ok=False)
        assert refused.exit_code == 1
        assert "erase every comment by ann@example.com? [y/N]" in refused.output
        assert "Aborted!" in refused.output
        assert "Traceback" not in refused.output
        assert client.thread().json["comments"][0]["author"] == "Ann"
        assert stored(ann).text == "ann's words"
        agreed = run("privacy", "delete", "--email", "ann@example.com", input="y\n")
        assert agreed.output.endswith("erased 1 comments\n")
        failed(
            run("privacy", "delete", "--email", "x", "--mode", "forget", "--yes", ok=False),
            "'forget' is not one of 'erase', 'anonymize'",
            code=2,
        )


class TestCheck:
    def test_without_smtp_it_skips_mail_and_passes(self, shell):
        _, run = shell()
        lines = run("check").output.splitlines()
        assert lines[0] == "ok    config    loaded from defaults and environment"
        assert re.fullmatch(r"ok    database  schema version \d+", lines[1])
        assert lines[2] == "skip  smtp      no [mail] host set: commentd sends no mail"
        assert len(lines) == 3

    def test_an_smtp_server_that_does_not_answer_fails(self, shell, monkeypatch):
        _, run = shell()
        port = free_port()
        monkeypatch.setenv("COMMENTD_MAIL_HOST", "127.0.0.1")
        monkeypatch.setenv("COMMENTD_MAIL_PORT", str(port))
        monkeypatch.setenv("COMMENTD_MAIL_TIMEOUT", "5s")
        result = run("check", ok=False)
        assert result.exit_code == 1
        assert isinstance(result.exception, SystemExit)
        lines = result.output.splitlines()
        assert lines[0].startswith("ok    config")
        assert lines[1].startswith("ok    database")
        assert lines[2].startswith(f"FAIL  smtp      127.0.0.1:{port}: ")
        assert "Traceback" not in result.output

    def test_an_unreachable_database_fails(self, shell, monkeypatch, tmp_path):
        _, run = shell()
        monkeypatch.setenv("COMMENTD_DATABASE_URL", f"sqlite:///{tmp_path / 'no' / 'such.db'}")
        result = run("check", ok=False)
        assert result.exit_code == 1
        assert result.output.splitlines()[1].startswith("FAIL  database  ")

    def test_a_bad_config_is_one_error_line(self, shell, monkeypatch):
        _, run = shell()
        monkeypatch.setenv("COMMENTD_MAIL_PORT", "many")
        failed(run("check", ok=False), "port")
