"""``commentd export --format wxr|disqus``: files other engines import, and back again."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.cli.helpers import failed, use_fresh_database

SITE = "https://blog.example.com"


def without_time(exported: str) -> str:
    """The export without the moment it was written (two runs may be a second apart)."""
    exported = re.sub(r'created="[^"]*"', "", exported)
    return re.sub(r"\t<pubDate>[^<]*</pubDate>\n(?=\t<generator>)", "", exported)


@pytest.fixture
def shell(cli_site, monkeypatch):
    monkeypatch.setenv("COMMENTD_SITE_URL", SITE)
    client, run = cli_site(**{"site.url": SITE})
    root = client.post_comment("/a/", text="Root *one*", author="Ann", email="ann@example.com")
    client.post_comment("/a/", text="a reply", parent=root.json["comment"]["id"])
    client.post_comment("/b/", text="Grüße 👋", website="https://w.example")
    run("threads", "lock", "/b/")
    return client, run


@pytest.mark.parametrize(
    ("fmt", "reader", "root"),
    [("wxr", "wordpress", "rss"), ("disqus", "disqus", "{http://disqus.com}disqus")],
)
def test_export_to_standard_output_or_a_file_and_import_it_into_a_fresh_database(
    shell, tmp_path, monkeypatch, fmt, reader, root
):
    _, run = shell
    piped = run("export", "--format", fmt)
    assert piped.stderr == "exported 2 threads, 3 comments\n"
    assert ET.fromstring(piped.stdout).tag == root  # noqa: S314 (our own output)
    assert "<![CDATA[<p>Root <em>one</em></p>]]>" in piped.stdout
    assert f"<link>{SITE}/b/</link>" in piped.stdout
    path = tmp_path / f"site.{fmt}.xml"
    saved = run("export", "--format", fmt, path)
    assert saved.output == "exported 2 threads, 3 comments\n"
    assert without_time(path.read_text()) == without_time(piped.stdout)
    assert not path.with_name(path.name + ".partial").exists()

    use_fresh_database(tmp_path, monkeypatch)
    imported = run("import", path)
    assert imported.stdout.splitlines()[0].startswith(
        f"imported 3 comments in 2 new threads ({reader}); already there: 0 comments, 0 threads"
    )
    again = run("export", "--format", fmt)
    assert without_time(again.stdout) == without_time(piped.stdout)


def test_needs_the_sites_url_and_takes_no_out_folder(cli_site, tmp_path):
    _, run = cli_site()
    for fmt in ("wxr", "disqus"):
        failed(run("export", "--format", fmt, ok=False), "Set [site] url first")
        failed(run("export", "--format", fmt, tmp_path / "x.xml", ok=False), "Set [site] url")
        assert list(tmp_path.glob("x.xml*")) == []
        result = run("export", "--format", fmt, "--out", tmp_path, ok=False)
        assert result.exit_code == 2
        assert "--out is for --format html or json-threads" in result.output
