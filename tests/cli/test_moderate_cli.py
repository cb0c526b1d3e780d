"""``commentd comments`` and ``commentd threads``: moderation from the shell."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from commentd.cli import cli
from commentd.services import audit
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status, Thread


@pytest.fixture
def shell(serve, make_app, make_config, database_url, monkeypatch):
    """A site with held comments, a client for its API, and a CLI runner on its database."""
    config = make_config(**{"moderation.mode": "all"})
    client = serve(make_app(config))
    monkeypatch.setenv("COMMENTD_DATABASE_URL", database_url)
    monkeypatch.setenv("COMMENTD_SECURITY_SECRET", config.security.secret)
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return client, run


def held(client, text, uri="/post/", **fields):
    return client.post_comment(uri, text=text, **fields).json["comment"]["id"]


def test_list_shows_the_queue_and_approve_publishes(shell):
    client, run = shell
    a, b = held(client, "first words", author="Ann"), held(client, "second")
    listing = run("comments", "list").output
    assert f"{a}\tpending\t/post/\tAnn\tfirst words" in listing
    assert f"{b}\tpending\t/post/\tanonymous\tsecond" in listing
    assert "2 of 2 pending comments" in listing
    assert "approved 2 of 2 comments" in run("comments", "approve", str(a), str(b)).output
    assert [c["id"] for c in client.thread().json["comments"]] == [a, b]
    with connection():
        entry = audit.entries()[0]
        assert (entry.actor, entry.action, entry.target_id) == ("cli", "approve", b)


def test_an_unknown_id_fails_cleanly_and_changes_nothing(shell):
    client, run = shell
    a = held(client, "x")
    result = run("comments", "approve", str(a), "4242", ok=False)
    assert result.exit_code == 1
    assert "Error: No comment 4242." in result.output
    assert "Traceback" not in result.output
    with connection():
        assert Comment.get_by_id(a).status == Status.PENDING


def test_spam_delete_and_search(shell):
    client, run = shell
    s, d = held(client, "cheap pills", email="s@example.com"), held(client, "rude words")
    assert "marked as spam 1 of 1" in run("comments", "spam", str(s)).output
    assert "deleted 1 of 1" in run("comments", "delete", str(d)).output
    assert f"{s}\tspam" in run("comments", "list", "--status", "spam").output
    found = run("comments", "list", "--status", "spam", "--search", "s@example").output
    assert "cheap pills" in found
    with connection():
        assert Comment.get_by_id(d).text == ""


def test_pin_and_unpin(shell):
    client, run = shell
    a, b = held(client, "a"), held(client, "b")
    run("comments", "approve", str(a), str(b))
    assert "pinned comment" in run("comments", "pin", str(b)).output
    assert [c["id"] for c in client.thread().json["comments"]] == [b, a]
    run("comments", "pin", str(b), "--off")
    assert [c["id"] for c in client.thread().json["comments"]] == [a, b]
    refused = run("comments", "pin", "999", ok=False)
    assert "No comment 999." in refused.output


def test_threads_list_lock_and_unlock(shell):
    client, run = shell
    run("comments", "approve", str(held(client, "x", uri="/t/")))
    assert "/t/\t1 approved\t0 pending\topen" in run("threads", "list").output
    assert "locked /t/" in run("threads", "lock", "/t/").output
    assert client.post_comment("/t/", text="late").json["error"]["code"] == "thread_locked"
    assert "/t/\t1 approved\t0 pending\tclosed" in run("threads", "list").output
    run("threads", "unlock", "/t/")
    assert client.post_comment("/t/", text="welcome back").status == 201
    assert "No thread /nope/." in run("threads", "lock", "/nope/", ok=False).output
    with connection():
        assert Thread.get(Thread.uri == "/t/").locked is False
