"""``commentd threads remap`` and ``commentd import --remap``: moving a blog from the shell."""

from __future__ import annotations

import datetime as dt

import pytest

from commentd.storage.database import connection
from commentd.storage.models import Thread
from tests.cli.helpers import failed
from tests.services.test_remap import MOVED_BLOG


@pytest.fixture
def shell(cli_site):
    """A live site, a client for its API, and a CLI runner on its database."""
    return cli_site()


def texts(client, uri):
    return [c["html"] for c in client.thread(uri).json["comments"]]


def make_old_blog(client):
    """Three threads of the old blog (one twice, with a campaign's query), one new page."""
    for uri, text in (
        ("/2015/post-0/", "plain"),
        ("/2015/post-0/?utm=x", "campaign"),
        ("/2015/post-0/?utm=x", "campaign again"),
        ("/2015/post-1/", "another"),
        ("/about/", "stays"),
    ):
        assert client.post_comment(uri, text=text).status == 201
    with connection():  # the plain link's thread is the oldest
        Thread.update(created=dt.datetime(2015, 3, 1)).where(
            Thread.uri == "/2015/post-0/"
        ).execute()


def uris():
    with connection():
        return sorted(uri for (uri,) in Thread.select(Thread.uri).tuples())


DIFF = [
    "/2015/post-0/ -> /posts/post-0/  (1 comment)",
    "/2015/post-0/?utm=x -> /posts/post-0/  (2 comments, merged into /2015/post-0/)",
    "/2015/post-1/ -> /posts/post-1/  (1 comment)",
]


def rules_file(tmp_path, text, name="moves.rules"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_dry_run_prints_the_diff_and_changes_nothing(shell, tmp_path):
    client, run = shell
    make_old_blog(client)
    before = uris()
    rules = rules_file(tmp_path, "# old permalinks\nstrip-query\nprefix /2015/ /posts/\n")
    result = run("threads", "remap", rules, "--dry-run")
    assert result.stdout.splitlines() == [
        *DIFF,
        "would move 3 threads (1 merged into others), 4 comments",
    ]
    assert uris() == before
    assert run("audit").stdout.count("remap") == 0


def test_remap_moves_and_merges_and_a_second_run_does_nothing(shell, tmp_path):
    client, run = shell
    make_old_blog(client)
    rules = rules_file(tmp_path, "strip-query\nprefix /2015/ /posts/\n")
    result = run("threads", "remap", rules)
    assert result.stdout.splitlines() == [
        *DIFF,
        "moved 3 threads (1 merged into others), 4 comments",
    ]
    assert uris() == ["/about/", "/posts/post-0/", "/posts/post-1/"]
    assert texts(client, "/posts/post-0/") == [
        "<p>plain</p>\n",
        "<p>campaign</p>\n",
        "<p>campaign again</p>\n",
    ]
    assert texts(client, "/2015/post-0/") == []
    assert "remap" in run("audit").stdout
    again = run("threads", "remap", rules)
    assert again.stdout == "nothing to move: every thread is where the rules put it\n"


def test_a_csv_of_old_and_new_uris(shell, tmp_path):
    client, run = shell
    make_old_blog(client)
    table = rules_file(tmp_path, "old,new\n/2015/post-1/,/moved/\n", name="moves.csv")
    assert run("threads", "remap", table).stdout.splitlines() == [
        "/2015/post-1/ -> /moved/  (1 comment)",
        "moved 1 threads (0 merged into others), 1 comments",
    ]
    assert texts(client, "/moved/") == ["<p>another</p>\n"]


def test_bad_rules_are_a_clean_error_naming_the_line(shell, tmp_path):
    client, run = shell
    make_old_blog(client)
    before = uris()
    rules = rules_file(tmp_path, "strip-query\nmove /2015/ /posts/\n")
    failed(run("threads", "remap", rules, ok=False), "moves.rules line 2: unknown rule 'move'")
    bad = rules_file(tmp_path, "regex ^/(.*$ /\\1\n")
    failed(run("threads", "remap", bad, ok=False), "line 1: bad regular expression")
    assert uris() == before


def test_import_with_remap_lands_on_the_new_uris(shell, tmp_path):
    _, run = shell
    export = tmp_path / "disqus.xml"
    export.write_text(MOVED_BLOG, encoding="utf-8")
    rules = rules_file(tmp_path, "strip-query\nprefix /blog/ /posts/\n")
    result = run("import", export, "--remap", rules)
    assert result.stdout.startswith("imported 4 comments in 2 new threads (disqus)")
    assert uris() == ["/posts/2015/post-0/", "/posts/2016/other/"]
    bad = rules_file(tmp_path, "prefix /blog/\n", name="bad.rules")
    failed(
        run("import", export, "--remap", bad, ok=False),
        "Invalid value for '--remap': bad.rules line 1: prefix takes OLD and NEW",
        code=2,
    )
