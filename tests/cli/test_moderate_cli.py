"""``commentd comments`` and ``commentd threads``: moderation from the shell."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from commentd.cli import cli
from commentd.services import audit
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status, Thread
from tests.cli.helpers import age, failed, table_rows


@pytest.fixture
def shell(cli_site):
    """A site with held comments, a client for its API, and a CLI runner on its database."""
    return cli_site(**{"moderation.mode": "all"})


def held(client, text, uri="/post/", **fields):
    return client.post_comment(uri, text=text, **fields).json["comment"]["id"]


def rows(output: str) -> list[list[str]]:
    """A table's rows (after its header line), split into cells."""
    return table_rows(output.splitlines())


def header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def visible(client, uri="/post/"):
    """(id, html) of the comments readers see on a thread, top level only."""
    return [(c["id"], c["html"]) for c in client.thread(uri).json["comments"]]


def test_list_shows_the_queue_as_a_table_and_approve_publishes(shell):
    client, run = shell
    a, b = held(client, "first   words\non two lines", author="Ann"), held(client, "second")
    listing = run("comments", "list")
    assert header(listing.stdout) == [
        "ID",
        "STATUS",
        "CREATED",
        "REPORTS",
        "THREAD",
        "AUTHOR",
        "TEXT",
    ]
    table = rows(listing.stdout)
    assert [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in table] == [
        (str(a), "pending", "0", "/post/", "Ann", "first words on two lines"),
        (str(b), "pending", "0", "/post/", "anonymous", "second"),
    ]
    created = dt.datetime.fromisoformat(table[0][2].removesuffix("Z"))
    assert abs(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - created) < dt.timedelta(
        minutes=5
    )
    # columns line up: every row's STATUS starts where the header's does
    start = listing.stdout.splitlines()[0].index("STATUS")
    assert all(line[start:].startswith("pending") for line in listing.stdout.splitlines()[1:])
    assert "\x1b[" not in listing.output  # no colour when not on a terminal
    assert listing.stderr.strip() == "2 of 2 pending comments"

    assert "approved 2 of 2 comments" in run("comments", "approve", str(a), str(b)).output
    assert [c["id"] for c in client.thread().json["comments"]] == [a, b]
    assert rows(run("comments", "list").stdout) == []
    with connection():
        entry = audit.entries()[0]
        assert (entry.actor, entry.action, entry.target_id) == ("cli", "approve", b)


def test_colour_only_on_a_terminal(shell):
    client, run = shell
    held(client, "x")
    coloured = run("comments", "list", color=True).stdout
    assert "\x1b[1m" in coloured  # bold header
    assert "\x1b[33m" in coloured  # yellow "pending"


def test_long_text_is_cut_to_its_column(shell):
    client, run = shell
    held(client, "word " * 40)
    text = rows(run("comments", "list").stdout)[0][6]
    assert len(text) == 60
    assert text.endswith("…")


def test_list_json_has_every_member(shell):
    client, run = shell
    a = held(client, "hello *there*", author="Ann", email="ann@example.com")
    held(client, "other", uri="/other/")
    data = json.loads(run("comments", "list", "--json", "--thread", "/post/").stdout)
    assert data["total"] == 1
    [comment] = data["comments"]
    assert comment["id"] == a
    assert (comment["thread"], comment["status"], comment["parent"]) == ("/post/", "pending", None)
    assert (comment["author"], comment["email"], comment["text"]) == (
        "Ann",
        "ann@example.com",
        "hello *there*",
    )
    assert "<em>there</em>" in comment["html"]
    assert comment["created"].endswith("Z")
    assert (comment["likes"], comment["dislikes"], comment["pinned"]) == (0, 0, False)
    assert {"website", "modified", "network"} <= comment.keys()


def test_list_filters_status_thread_search_since_and_limit(shell):
    client, run = shell
    old = held(client, "an old comment")
    new = held(client, "a new comment", uri="/other/")
    age(old, days=3)

    def ids(*args):
        return [
            c["id"] for c in json.loads(run("comments", "list", "--json", *args).stdout)["comments"]
        ]

    assert ids() == [old, new]  # pending: oldest first
    assert ids("--since", "1d") == [new]
    assert ids("--since", "4d") == [old, new]
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).date().isoformat()
    assert ids("--since", since) == [new]
    assert ids("--thread", "/post/") == [old]
    assert ids("--search", "old") == [old]
    assert ids("--limit", "1") == [old]
    assert ids("--status", "approved") == []
    run("comments", "approve", str(new))
    assert ids("--status", "approved") == [new]
    assert ids("--status", "all") == [new, old]  # newest first


def test_show_prints_one_comment_in_full(shell):
    client, run = shell
    a = held(client, "line one\n\nline two", author="Ann", email="ann@example.com")
    out = run("comments", "show", str(a)).stdout
    lines = out.splitlines()
    assert lines[0] == f"id:       {a}"
    assert "status:   pending" in lines
    assert "thread:   /post/" in lines
    assert "author:   Ann" in lines
    assert "email:    ann@example.com" in lines
    assert "parent:   -" in lines
    assert "votes:    +0 -0" in lines
    assert "pinned:   no" in lines
    assert re.search(r"^created:  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", out, re.M)
    assert out.endswith("\nline one\n\nline two\n")
    data = json.loads(run("comments", "show", str(a), "--json").stdout)
    assert (data["id"], data["status"], data["text"]) == (a, "pending", "line one\n\nline two")


def test_unknown_ids_and_threads_fail_cleanly_and_change_nothing(shell):
    client, run = shell
    a = held(client, "x")
    failed(run("comments", "approve", str(a), "4242", ok=False), "No comment 4242.")
    with connection():
        assert Comment.get_by_id(a).status == Status.PENDING
    for args in (
        ("comments", "show", "4242"),
        ("comments", "delete", "4242"),
        ("comments", "spam", "4242"),
        ("comments", "edit", "4242", "--text", "x"),
        ("comments", "pin", "4242"),
    ):
        failed(run(*args, ok=False), "No comment 4242.")
    for args in (
        ("threads", "lock", "/nope/"),
        ("threads", "unlock", "/nope/"),
        ("threads", "rename", "/nope/", "/new/"),
        ("threads", "delete", "/nope/", "--yes"),
    ):
        failed(run(*args, ok=False), "No thread /nope/.")
    failed(run("comments", "approve", "0", ok=False), "Invalid value", code=2)
    failed(run("comments", "approve", ok=False), "Missing argument", code=2)


def test_a_bad_since_is_a_usage_error(shell):
    _, run = shell
    result = run("comments", "list", "--since", "yesterday", ok=False)
    failed(result, "'yesterday' is neither an age (7d, 12h) nor a date", code=2)


def test_spam_delete_and_search(shell):
    client, run = shell
    s, d = held(client, "cheap pills", email="s@example.com"), held(client, "rude words")
    assert "marked as spam 1 of 1" in run("comments", "spam", str(s)).output
    assert "deleted 1 of 1" in run("comments", "delete", str(d)).output
    assert [r[:2] for r in rows(run("comments", "list", "--status", "spam").stdout)] == [
        [str(s), "spam"]
    ]
    found = rows(run("comments", "list", "--status", "spam", "--search", "s@example").stdout)
    assert [r[6] for r in found] == ["cheap pills"]
    assert rows(run("comments", "list", "--status", "spam", "--search", "nothing").stdout) == []
    deleted = rows(run("comments", "list", "--status", "deleted").stdout)
    assert [(r[0], r[1]) for r in deleted] == [(str(d), "deleted")]
    with connection():
        assert Comment.get_by_id(d).text == ""


def test_edit_with_options_changes_what_readers_see(shell):
    client, run = shell
    a = held(client, "typo teh", author="Ann")
    run("comments", "approve", str(a))
    assert run("comments", "edit", str(a), "--text", "fixed *the*").output == (
        f"edited comment {a}\n"
    )
    [shown] = client.thread().json["comments"]
    assert "<em>the</em>" in shown["html"]
    assert shown["author"] == "Ann"
    run("comments", "edit", str(a), "--author", "Anna")
    assert client.thread().json["comments"][0]["author"] == "Anna"


def test_edit_through_the_editor(shell, tmp_path):
    client, run = shell
    a = held(client, "teh old text")
    run("comments", "approve", str(a))
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/teh/the/" "$1"\n')
    editor.chmod(0o755)
    result = run("comments", "edit", str(a), env={"EDITOR": str(editor)})
    assert result.output == f"edited comment {a}\n"
    assert "the old text" in client.thread().json["comments"][0]["html"]
    with connection():
        assert Comment.get_by_id(a).text == "the old text"
    # the editor changed nothing this time: nothing is saved
    unchanged = run("comments", "edit", str(a), env={"EDITOR": "true"})
    assert unchanged.output == "no change\n"
    with connection():
        assert Comment.get_by_id(a).text == "the old text"


def test_pin_and_unpin(shell):
    client, run = shell
    a, b = held(client, "a"), held(client, "b")
    run("comments", "approve", str(a), str(b))
    assert run("comments", "pin", str(b)).output == f"pinned comment {b}\n"
    assert [c["id"] for c in client.thread().json["comments"]] == [b, a]
    assert run("comments", "pin", str(b), "--off").output == f"unpinned comment {b}\n"
    assert [c["id"] for c in client.thread().json["comments"]] == [a, b]
    c = held(client, "held")
    failed(run("comments", "pin", str(c), ok=False), "Only approved comments can be pinned.")


def test_threads_list_lock_and_unlock(shell):
    client, run = shell
    run("comments", "approve", str(held(client, "x", uri="/t/")))
    held(client, "y", uri="/t/")
    listing = run("threads", "list").stdout
    assert header(listing) == ["URI", "TITLE", "APPROVED", "PENDING", "STATE"]
    assert rows(listing) == [["/t/", "-", "1", "1", "open"]]
    assert run("threads", "lock", "/t/").output == "locked /t/\n"
    assert client.post_comment("/t/", text="late").json["error"]["code"] == "thread_locked"
    assert rows(run("threads", "list").stdout) == [["/t/", "-", "1", "1", "closed"]]
    assert run("threads", "unlock", "/t/").output == "unlocked /t/\n"
    assert client.post_comment("/t/", text="welcome back").status == 201
    with connection():
        assert Thread.get(Thread.uri == "/t/").locked is False


def test_threads_list_search_limit_and_json(shell):
    client, run = shell
    for uri in ("/a/", "/b/", "/blog/c/"):
        held(client, "x", uri=uri)
    assert [r[0] for r in rows(run("threads", "list", "--search", "b").stdout)] == [
        "/blog/c/",
        "/b/",
    ]
    assert len(rows(run("threads", "list", "--limit", "1").stdout)) == 1
    data = json.loads(run("threads", "list", "--json", "--search", "/a/").stdout)
    assert data == [
        {
            "uri": "/a/",
            "title": None,
            "created": data[0]["created"],
            "approved": 0,
            "pending": 1,
            "closed": False,
        }
    ]
    assert data[0]["created"].endswith("Z")


def test_rename_moves_a_thread(shell):
    client, run = shell
    a = held(client, "moving", uri="/old/")
    run("comments", "approve", str(a))
    assert run("threads", "rename", "/old/", "/new/").output == "/old/ is now /new/\n"
    assert visible(client, "/new/") == [(a, "<p>moving</p>\n")]
    assert client.thread("/old/").json["comments"] == []
    assert [r[0] for r in rows(run("threads", "list").stdout)] == ["/new/"]


def test_rename_merges_into_an_existing_thread(shell):
    client, run = shell
    a = held(client, "on the old page", uri="/old/")
    b = held(client, "on the new page", uri="/new/")
    run("comments", "approve", str(a), str(b))
    assert run("threads", "rename", "/old/", "/new/").output == "/old/ is now /new/\n"
    assert sorted(i for i, _ in visible(client, "/new/")) == [a, b]
    assert [r[0] for r in rows(run("threads", "list").stdout)] == ["/new/"]
    with connection():
        assert Thread.get_or_none(Thread.uri == "/old/") is None


def test_threads_delete(shell):
    client, run = shell
    a = held(client, "doomed", uri="/gone/")
    run("comments", "approve", str(a))
    reply = client.post_comment("/gone/", text="reply", parent=a).json["comment"]["id"]
    run("comments", "approve", str(reply))
    held(client, "kept", uri="/kept/")
    refused = run("threads", "delete", "/gone/", input="n\n", ok=False)
    assert refused.exit_code == 1
    assert "Aborted!" in refused.output
    assert len(visible(client, "/gone/")) == 1
    done = run("threads", "delete", "/gone/", "--yes")
    assert done.output == "deleted /gone/ and its 2 comments\n"
    assert client.thread("/gone/").json["comments"] == []
    assert [r[0] for r in rows(run("threads", "list").stdout)] == ["/kept/"]
    failed(run("threads", "delete", "/gone/", "--yes", ok=False), "No thread /gone/.")


def test_config_file_on_the_command_or_the_group(shell, tmp_path, database_url, monkeypatch):
    client, _ = shell
    a = held(client, "from a config file")
    monkeypatch.delenv("COMMENTD_DATABASE_URL")
    monkeypatch.delenv("COMMENTD_SECURITY_SECRET")
    ini = tmp_path / "site.ini"
    ini.write_text(f"[database]\nurl = {database_url}\n\n[security]\nsecret = {'s' * 40}\n")
    runner = CliRunner()
    for args in (
        ["comments", "list", "--config", str(ini)],
        ["--config", str(ini), "comments", "list"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert [r[0] for r in rows(result.stdout)] == [str(a)]
    missing = runner.invoke(cli, ["--config", str(tmp_path / "nope.ini"), "comments", "list"])
    failed(missing, "nope.ini")
