"""``commentd import``, ``export`` and ``backup``: moving data in and out from the shell."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from commentd.services.backup import PG_HINT
from commentd.storage.database import connection
from commentd.storage.models import Comment, Thread
from tests.cli.helpers import failed, use_fresh_database
from tests.conftest import POSTGRES_URL

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
DISQUS = FIXTURES / "disqus.xml"
DISQUS_SUMMARY = "{verb} 6 comments in 2 new threads (disqus); already there: 0 comments, 0 threads"
DISQUS_SKIPPED = [
    "skipped 3:",
    "        1  thread without an id or a link",
    "        1  comment of an unknown or skipped thread",
    "        1  empty comment",
]


@pytest.fixture
def shell(cli_site):
    """A live site, a client for its API, and a CLI runner on its database."""
    return cli_site()


def counts() -> tuple[int, int]:
    with connection():
        return Thread.select().count(), Comment.select().count()


def comments_of(run) -> list[tuple]:
    """What the CLI lists of every comment, without the database's own ids."""
    listed = json.loads(run("comments", "list", "--status", "all", "--json").stdout)
    return sorted(
        json.dumps(
            [
                c["thread"],
                c["status"],
                c["author"],
                c["email"],
                c["website"],
                c["text"],
                c["html"],
                c["created"],
                c["likes"],
                c["dislikes"],
                c["pinned"],
                c["network"],
            ]
        )
        for c in listed["comments"]
    )


def test_import_disqus_prints_a_summary_and_a_second_run_adds_nothing(shell):
    client, run = shell
    result = run("import", DISQUS)
    assert result.stdout.splitlines() == [
        DISQUS_SUMMARY.format(verb="imported") + "; the spam filter learned from 5",
        *DISQUS_SKIPPED,
    ]
    assert counts() == (2, 6)
    shown = client.thread("/2019/hello-world/").json["comments"]
    assert [c["author"] for c in shown] == ["Ann Onymous"]
    assert shown[0]["replies"][0]["author"] == "Blog Owner"

    again = run("import", DISQUS, "--format", "disqus")
    assert again.stdout.splitlines()[0] == (
        "imported 0 comments in 0 new threads (disqus); already there: 6 comments, 2 threads"
    )
    assert counts() == (2, 6)


def test_import_says_how_many_comments_of_deleted_threads_it_held(shell, tmp_path):
    from tests.services.test_importers import DELETED_THREAD

    client, run = shell
    path = tmp_path / "disqus.xml"
    path.write_text(DELETED_THREAD, encoding="utf-8")
    lines = run("import", str(path)).stdout.splitlines()
    assert lines[1] == (
        "held 2 comments of threads the source had deleted"
        " (pending, in locked threads: approve any you want shown)"
    )
    assert client.thread("/gone/").json["comments"] == []


def test_import_dry_run_writes_nothing(shell):
    _, run = shell
    result = run("import", DISQUS, "--dry-run")
    assert result.stdout.splitlines() == [
        DISQUS_SUMMARY.format(verb="would import"),
        *DISQUS_SKIPPED,
    ]
    assert counts() == (0, 0)


def test_import_wordpress_pingbacks_skipped_or_kept(shell):
    _, run = shell
    skipped = run("import", FIXTURES / "wordpress.xml", "--dry-run").stdout.splitlines()
    assert skipped[0].startswith("would import 6 comments in 2 new threads (wordpress)")
    assert skipped[1:] == ["skipped 1:", "        1  pingback"]
    kept = run("import", FIXTURES / "wordpress.xml", "--pingbacks", "keep").stdout.splitlines()
    assert kept == [
        "imported 7 comments in 2 new threads (wordpress); already there: 0 comments, 0 threads"
        "; the spam filter learned from 5"
    ]


def test_import_a_gzip_remark42_backup(shell, tmp_path):
    client, run = shell
    path = tmp_path / "userbackup-blog-20240101.gz"
    path.write_bytes(gzip.compress((FIXTURES / "remark42.jsonl").read_bytes()))
    dry = run("import", path, "--dry-run").stdout.splitlines()[0]
    assert dry.startswith("would import 5 comments in 2 new threads (remark42)")
    assert dry.endswith("; 1 blocked user banned")  # counted, not written
    result = run("import", path)
    assert result.stdout.splitlines() == [
        "imported 5 comments in 2 new threads (remark42); already there: 0 comments, 0 threads"
        "; 4 votes; 1 blocked user banned; the spam filter learned from 4",
        "skipped 4:",
        "        1  blocked user without an email: not banned",
        "        1  empty comment",
        "        1  not valid JSON",
        "        1  comment without an id or a page url",
    ]
    shown = client.thread("/2021/05/hello-remark/").json["comments"]
    assert [(c["author"], c["likes"], c["dislikes"]) for c in shown] == [("Ann Remark", 2, 1)]
    assert run("import", path, "--format", "remark42").stdout.splitlines()[0] == (
        "imported 0 comments in 0 new threads (remark42); already there: 5 comments, 2 threads"
    )


@pytest.mark.parametrize(
    ("name", "summary", "skipped"),
    [
        (
            "commento",
            "imported 7 comments in 2 new threads (commento); already there: 0 comments,"
            " 0 threads; the spam filter learned from 5",
            ["unknown state 'weird'", "comment without a commentHex or a page path"],
        ),
        (
            "comentario",
            "imported 6 comments in 2 new threads (comentario); already there: 0 comments,"
            " 0 threads; the spam filter learned from 4",
            ["page without an id or a path", "comment without an id or a known page"],
        ),
    ],
)
def test_import_commento_and_comentario_exports(shell, tmp_path, name, summary, skipped):
    _, run = shell
    path = tmp_path / f"{name}.json.gz"
    path.write_bytes(gzip.compress((FIXTURES / f"{name}.json").read_bytes()))
    result = run("import", path)
    assert result.stdout.splitlines() == [
        summary,
        "skipped 2:",
        *(f"        1  {reason}" for reason in skipped),
    ]
    again = run("import", path, "--format", name).stdout.splitlines()[0]
    assert again.startswith(f"imported 0 comments in 0 new threads ({name})")


def test_import_refuses_missing_unknown_and_hostile_files(shell, tmp_path):
    _, run = shell
    missing = run("import", tmp_path / "missing.xml", ok=False)
    failed(missing, "does not exist", code=2)
    odd = tmp_path / "odd.txt"
    odd.write_text("hello")
    failed(run("import", odd, ok=False), "Cannot tell the file's format; give it with --format")
    failed(run("import", odd, "--format", "xml", ok=False), "'xml' is not one of", code=2)
    for hostile in ("xxe.xml", "billion-laughs.xml"):
        result = run("import", FIXTURES / hostile, ok=False)
        failed(result, "The file declares XML entities; refusing it")
        assert "root:" not in result.output  # /etc/passwd was not read
    assert counts() == (0, 0)


def test_export_then_import_into_a_fresh_database_round_trips(
    shell, tmp_path, monkeypatch, make_config, make_app, serve
):
    client, run = shell
    root = client.post_comment("/rt/", text="Root *one*", author="A", email="a@example.com")
    client.post_comment("/rt/", text="a reply", parent=root.json["comment"]["id"])
    client.post_comment("/rt2/", text="other", website="https://w.example")
    run("threads", "lock", "/rt2/")
    before = comments_of(run)
    threads_before = json.loads(run("threads", "list", "--json").stdout)

    piped = run("export")
    assert piped.stderr == "exported 2 threads, 3 comments, 0 votes\n"
    lines = piped.stdout.splitlines()
    assert json.loads(lines[0])["format"]
    assert [json.loads(line).get("type") for line in lines[1:]] == [
        "thread",
        "thread",
        "comment",
        "comment",
        "comment",
        *["setting"] * (len(lines) - 6),
    ]
    assert "s" * 40 not in piped.stdout  # no secrets
    path = tmp_path / "site.jsonl"
    saved = run("export", path)
    assert saved.output == "exported 2 threads, 3 comments, 0 votes\n"
    assert path.read_text().splitlines()[1:] == lines[1:]
    assert not path.with_name("site.jsonl.partial").exists()
    failed(run("export", tmp_path / "no" / "such" / "dir.jsonl", ok=False), "cannot write")

    fresh_url = use_fresh_database(tmp_path, monkeypatch)
    imported = run("import", path)
    assert imported.stdout.splitlines() == [
        "imported 3 comments in 2 new threads (json); already there: 0 comments, 0 threads"
        "; the spam filter learned from 3"
    ]
    assert comments_of(run) == before
    assert json.loads(run("threads", "list", "--json").stdout) == threads_before
    fresh = serve(make_app(make_config(**{"database.url": fresh_url})))
    [shown] = fresh.thread("/rt/").json["comments"]
    assert "<em>one</em>" in shown["html"]
    assert shown["replies"][0]["html"] == "<p>a reply</p>\n"


def test_backup(shell, tmp_path):
    client, run = shell
    for n in range(3):
        client.post_comment(text=f"kept {n}")
    target = tmp_path / "backup.db"
    result = run("backup", target, ok=False)
    if POSTGRES_URL:
        failed(result, PG_HINT)
        assert "pg_dump" in result.output
        assert not target.exists()
        return
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {target} (")
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        texts = [t for (t,) in copy.execute("SELECT text FROM comment ORDER BY id")]
    assert texts == ["kept 0", "kept 1", "kept 2"]
    assert not target.with_name("backup.db.partial").exists()
    size = target.stat().st_size
    failed(run("backup", target, ok=False), "backup.db exists; choose a new file name.")
    assert target.stat().st_size == size
    failed(run("backup", tmp_path / "no" / "dir.db", ok=False), "Backup failed")


def test_backup_while_the_server_takes_comments(shell, tmp_path, database_url):
    client, _ = shell
    for n in range(5):
        client.post_comment(text=f"before {n}")
    stop = threading.Event()
    posted: list[int] = []

    def keep_posting():
        while not stop.is_set():
            posted.append(client.post_comment(text=f"during {len(posted)}").status)

    writer = threading.Thread(target=keep_posting)
    writer.start()
    try:
        target = tmp_path / "live.db"
        env = {
            **os.environ,
            "COMMENTD_DATABASE_URL": database_url,
            "COMMENTD_SECURITY_SECRET": "s" * 40,
        }
        done = subprocess.run(
            [sys.executable, "-m", "commentd", "backup", str(target)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop.set()
        writer.join()
    assert posted
    assert set(posted) == {201}  # the server kept answering
    if POSTGRES_URL:  # no online backup there: the pg_dump hint, in one line
        assert done.returncode == 1
        assert done.stderr.splitlines() == [f"Error: {PG_HINT}"]
        assert not target.exists()
        return
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        backed_up = copy.execute("SELECT count(*) FROM comment").fetchone()[0]
    assert 5 <= backed_up <= 5 + len(posted)
