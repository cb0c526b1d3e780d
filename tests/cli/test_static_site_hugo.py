"""The Hugo partial of docs/embedding.md, as written there, in a real Hugo build: a page shows
its thread from ``commentd export --format html``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"


def hugo_partial() -> str:
    found = re.search(r"```go-html-template\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, "docs/embedding.md has no Hugo partial"
    return found[1]


@pytest.fixture
def hugo() -> str:
    path = shutil.which("hugo")
    if path is None:
        pytest.skip("no hugo: apt-get install hugo")
    return path


def test_the_documented_partial_renders_the_exported_thread(cli_site, hugo, tmp_path):
    client, run = cli_site()
    ada = client.post_comment("/2026/hello/", text="Seen in *Hugo*", author="Ada")
    client.post_comment("/2026/hello/", text="A reply", parent=ada.json["comment"]["id"])
    site = tmp_path / "blog"
    (site / "content" / "2026").mkdir(parents=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "layouts" / "partials").mkdir(parents=True)
    (site / "config.toml").write_text('baseURL = "https://blog.example.com/"\ntitle = "Blog"\n')
    (site / "content" / "2026" / "hello.md").write_text('---\ntitle: "Hello"\n---\nThe post.\n')
    (site / "content" / "2026" / "quiet.md").write_text('---\ntitle: "Quiet"\n---\nNo comments.\n')
    (site / "layouts" / "_default" / "single.html").write_text(
        '<html><body>{{ .Content }}{{ partial "comments.html" . }}</body></html>\n'
    )
    (site / "layouts" / "_default" / "list.html").write_text("<html></html>\n")
    (site / "layouts" / "partials" / "comments.html").write_text(hugo_partial())
    run("export", "--format", "html", "--out", site / "comments")
    built = subprocess.run(
        [hugo, "--source", str(site), "--destination", str(tmp_path / "public"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    page = (tmp_path / "public" / "2026" / "hello" / "index.html").read_text(encoding="utf-8")
    assert f'<article id="c{ada.json["comment"]["id"]}"' in page
    assert "<em>Hugo</em>" in page
    assert 'data-uri="/2026/hello/"' in page
    assert page.count("<article") == 2
    quiet = (tmp_path / "public" / "2026" / "quiet" / "index.html").read_text(encoding="utf-8")
    assert "<article" not in quiet
    assert 'data-uri="/2026/quiet/"' in quiet
