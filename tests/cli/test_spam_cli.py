"""``commentd spam train`` and ``commentd spam stats``, and imports training the filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commentd.services import catches
from commentd.services import filter as spam_filter
from commentd.storage.database import connection
from commentd.storage.models import AuditEntry, Comment, Status
from tests.cli.helpers import table_rows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"


@pytest.fixture
def shell(cli_site):
    return cli_site(**{"moderation.mode": "all", "moderation.blocked_words": "forbidden"})


def labels() -> dict[str, str | None]:
    with connection():
        return {c.text: c.filter_label for c in Comment.select()}


def test_spam_train_learns_from_decided_comments_once_and_is_audited(shell):
    client, run = shell
    ids = [client.post_comment(text=f"comment {n}").json["comment"]["id"] for n in range(3)]
    with connection():  # decided before the filter existed: stored, untrained
        Comment.update(status=Status.APPROVED).where(Comment.id == ids[0]).execute()
        Comment.update(status=Status.SPAM).where(Comment.id == ids[1]).execute()
    result = run("spam", "train")
    assert result.stdout.strip() == (
        "learned from 1 spam and 1 approved comments; the filter knows 1 spam and 1 approved "
        f"comments, {spam_filter_tokens()} tokens"
    )
    assert labels() == {"comment 0": "ham", "comment 1": "spam", "comment 2": None}
    again = run("spam", "train")
    assert again.stdout.startswith("learned from 0 spam and 0 approved comments;")
    with connection():
        assert [e.action for e in AuditEntry.select()] == ["train"]


def spam_filter_tokens() -> int:
    with connection():
        return spam_filter.model_size()[2]


def test_comments_decided_with_the_cli_train_the_filter(shell):
    client, run = shell
    spam = client.post_comment(text="cheap pills").json["comment"]["id"]
    ham = client.post_comment(text="lovely post").json["comment"]["id"]
    run("comments", "spam", spam)
    run("comments", "approve", ham)
    assert labels() == {"cheap pills": "spam", "lovely post": "ham"}


def test_spam_stats_shows_each_signal_as_a_table_and_as_json(shell):
    client, run = shell
    client.post_comment(text="a forbidden word")  # refused: blocklist
    client.post_comment(text="bot", homepage="http://bot.example")  # honeypot: spam
    held = client.post_comment(text="caught", homepage="x").json["comment"]["id"]
    run("comments", "approve", held)  # a honeypot catch a moderator approved
    lines = run("spam", "stats", "--days", "7").stdout.splitlines()
    assert lines[0].endswith("(7 days): 2 new comments")
    rows = {row[0]: row[1:] for row in table_rows(lines[1:10])}
    assert tuple(rows) == catches.SIGNALS
    assert rows["honeypot"] == ["2", "2", "0", "1"]
    assert rows["blocklist"] == ["1", "0", "1", "0"]
    assert lines[-1] == "the filter has learned from 0 spam and 1 approved comments"
    data = json.loads(run("spam", "stats", "--json").stdout)
    assert data["days"] == 30
    assert data["comments"] == 2
    honeypot = next(s for s in data["signals"] if s["signal"] == "honeypot")
    assert honeypot == {"signal": "honeypot", "caught": 2, "stored": 2, "refused": 0, "approved": 1}
    assert data["filter"]["ham"] == 1
    assert "email" not in json.dumps(data)


def test_spam_stats_refuses_a_bad_period(shell):
    _, run = shell
    result = run("spam", "stats", "--days", "0", ok=False)
    assert result.exit_code == 2
    assert "Invalid value for '--days'" in result.output


def test_import_trains_the_filter_with_the_sources_spam_flags(shell):
    _, run = shell
    run("import", FIXTURES / "disqus.xml")
    with connection():
        rows = {c.status: set() for c in Comment.select()}
        for c in Comment.select():
            rows[c.status].add(c.filter_label)
        assert rows[Status.SPAM] == {"spam"}  # isSpam true
        assert rows[Status.APPROVED] == {"ham"}
        assert rows.get(Status.DELETED, {None}) == {None}
        spams, hams, _ = spam_filter.model_size()
    assert (spams, hams) == (1, 4)
    run("import", FIXTURES / "wordpress.xml")
    with connection():
        assert spam_filter.model_size()[:2] == (2, 7)  # comment_approved=spam is spam
        pending = Comment.select().where(Comment.status == Status.PENDING)
        assert {c.filter_label for c in pending} == {None}
    again = run("spam", "train")
    assert again.stdout.startswith("learned from 0 spam and 0 approved comments")


def test_an_import_teaches_the_filter_up_to_its_limit_and_says_how_to_teach_the_rest(
    shell, monkeypatch
):
    """Learning costs more than the rest of an import: one import teaches at most
    ``TRAINING_LIMIT`` comments of each class, and `spam train` teaches the others later."""
    from commentd.services import importers

    monkeypatch.setattr(importers, "TRAINING_LIMIT", 2)
    _, run = shell
    result = run("import", FIXTURES / "disqus.xml")
    assert "; the spam filter learned from 3" in result.stdout  # 1 spam and 2 of the 4 approved
    assert "2 more comments can teach the spam filter: run `commentd spam train`" in (result.stdout)
    with connection():
        assert spam_filter.model_size()[:2] == (1, 2)
    later = run("spam", "train")
    assert later.stdout.startswith("learned from 0 spam and 2 approved comments")
    with connection():
        assert spam_filter.model_size()[:2] == (1, 4)
