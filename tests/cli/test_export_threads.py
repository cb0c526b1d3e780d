"""``commentd export --format html|json-threads --out DIR``: one file per thread for a static
site, the same fragment and JSON the server answers, rewritten only when a thread changed."""

from __future__ import annotations

import json
import re

import mf2py
import pytest

from commentd.services.thread_files import MANIFEST, folder_of


@pytest.fixture
def shell(cli_site, monkeypatch):
    """The live site and the admin's shell, both with the blog's address set."""
    monkeypatch.setenv("COMMENTD_SITE_URL", "https://blog.example.com")
    return cli_site(**{"site.url": "https://blog.example.com"})


def test_html_files_are_the_servers_fragments(shell, tmp_path):
    client, run = shell
    root = client.post_comment("/2026/hello/", text="Hello *there*", author="Ada")
    client.post_comment("/2026/hello/", text="a reply", parent=root.json["comment"]["id"])
    client.post_comment("/about/", text="About", author="Bob")
    out = tmp_path / "comments"
    result = run("export", "--format", "html", "--out", out)
    assert result.stderr == f"wrote 2 threads, 0 unchanged, 0 removed (html, {out})\n"
    hello = (out / "2026" / "hello" / "comments.html").read_text(encoding="utf-8")
    served = client.get("/html/thread", query={"uri": "/2026/hello/", "limit": "200"}).raw.decode()
    # the same fragment; only the server's copy names the JSON ETag the embed may ask with
    assert hello == re.sub(r' data-etag="[^"]*"', "", served)
    parsed = mf2py.parse(doc=f"<div class='h-entry'>{hello}</div>")
    comment = parsed["items"][0]["properties"]["comment"][0]["properties"]
    assert comment["author"][0]["properties"]["name"] == ["Ada"]
    assert (out / "about" / "comments.html").is_file()


def test_json_threads_are_the_apis_thread_reads(shell, tmp_path):
    client, run = shell
    client.post_comment("/a/", text="one")
    out = tmp_path / "data"
    run("export", "--format", "json-threads", "--out", out)
    data = json.loads((out / "a" / "comments.json").read_text(encoding="utf-8"))
    assert data == client.thread("/a/", limit="200").json


def test_only_changed_threads_are_written_again(shell, tmp_path):
    client, run = shell
    client.post_comment("/a/", text="one")
    client.post_comment("/b/", text="two")
    out = tmp_path / "site"
    run("export", "--format", "html", "--out", out)
    b_file = out / "b" / "comments.html"
    b_before = b_file.stat().st_mtime_ns
    client.post_comment("/a/", text="three")
    again = run("export", "--format", "html", "--out", out)
    assert again.stderr.startswith("wrote 1 threads, 1 unchanged, 0 removed")
    assert b_file.stat().st_mtime_ns == b_before
    assert "three" in (out / "a" / "comments.html").read_text()
    b_file.unlink()  # a file deleted by hand is written again
    assert run("export", "--format", "html", "--out", out).stderr.startswith("wrote 1 threads")
    # another language is another stamp: everything is written again
    de = run("export", "--format", "html", "--out", out, "--lang", "de")
    assert de.stderr.startswith("wrote 2 threads, 0 unchanged")
    assert "Kommentar senden" in b_file.read_text()


def test_files_of_threads_that_are_gone_are_removed(shell, tmp_path):
    client, run = shell
    client.post_comment("/old/", text="moved")
    out = tmp_path / "site"
    run("export", "--format", "html", "--out", out)
    run("threads", "rename", "/old/", "/new/")
    result = run("export", "--format", "html", "--out", out)
    assert result.stderr.startswith("wrote 1 threads, 0 unchanged, 1 removed")
    assert not (out / "old" / "comments.html").exists()
    assert (out / "new" / "comments.html").is_file()
    manifest = json.loads((out / MANIFEST).read_text())
    assert list(manifest["threads"]) == ["/new/"]


@pytest.mark.parametrize(
    ("uri", "folder"),
    [
        ("/2026/hello/", "2026/hello"),
        ("/a/../../etc/", "a/etc"),
        ("/%2e%2e/%2E%2E/x/", "x"),
        ("/über/?p=1", "über%3Fp=1"),
        ("/a%2Fb/", "a%2Fb"),
        ("https://blog.example.com/p/q/", "p/q"),
        ("/", "."),
        ("post-42", "post-42"),
    ],
)
def test_a_uri_never_leaves_the_folder(uri, folder):
    assert str(folder_of(uri)) == folder


def test_hostile_uris_stay_inside_the_folder(shell, tmp_path):
    client, run = shell
    for uri in ("/../../escape/", "/%2e%2e/%2e%2e/escape2/", "/a\\..\\b/"):
        assert client.post_comment(uri, text="x").status == 201
    out = tmp_path / "inside" / "site"
    run("export", "--format", "html", "--out", out)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("comments.html"))
    assert all(path.startswith("inside/site/") for path in written), written
    assert len(written) == 3


def test_wrong_combinations_are_usage_errors(shell, tmp_path):
    _, run = shell
    assert run("export", "--format", "html", ok=False).exit_code == 2
    assert (
        run("export", "--format", "html", tmp_path / "f", "--out", tmp_path, ok=False).exit_code
        == 2
    )
    assert run("export", "--out", tmp_path, ok=False).exit_code == 2
