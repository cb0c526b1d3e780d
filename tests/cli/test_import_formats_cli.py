"""``commentd import`` of Waline, Artalk and CSV files, from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from commentd.storage.database import connection
from commentd.storage.models import Comment, Thread
from tests.cli.helpers import failed

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"


@pytest.mark.parametrize(
    ("name", "fmt", "imported", "skipped", "uri", "authors"),
    [
        (
            "waline.json",
            "waline",
            6,
            [
                "skipped 2:",
                "        1  unknown status ''",
                "        1  comment without an objectId or a url",
            ],
            "/posts/hello-waline.html",
            ["Lin", "Site Owner"],
        ),
        (
            "artalk.json",
            "artalk",
            6,
            [
                "skipped 2:",
                "        1  empty comment",
                "        1  comment without an id or a page_key",
            ],
            "/posts/artalk/",
            ["Kai", "Admin"],
        ),
        (
            "comments.csv",
            "csv",
            7,
            [
                "skipped 7:",
                "        1  row 8: created 'yesterday' is not an ISO 8601 time",
                "        1  row 9: unknown status 'rejected' (approved, pending, spam or deleted)",
                "        1  row 10: likes 'many' is not a whole number",
                "        1  row 11: no id",
                "        1  row 12: no thread_uri",
                "        1  row 13: no text",
                "        1  row 14: unknown format 'rtf' (markdown, html or text)",
            ],
            "/blog/csv-post?lang=en",
            ["Quinn", "Rory"],
        ),
    ],
)
def test_import_detects_the_format_and_a_second_run_adds_nothing(
    cli_site, name, fmt, imported, skipped, uri, authors
):
    client, run = cli_site()
    result = run("import", FIXTURES / name)
    summary = (
        f"imported {imported} comments in 2 new threads ({fmt}); already there: 0 comments,"
        " 0 threads; the spam filter learned from 5"
    )
    assert result.stdout.splitlines() == [summary, *skipped]
    shown = client.thread(uri).json["comments"]
    assert [c["author"] for c in shown] == authors[:1]
    assert shown[0]["replies"][0]["author"] == authors[1]
    with connection():
        before = Thread.select().count(), Comment.select().count()
    again = run("import", FIXTURES / name, "--format", fmt).stdout.splitlines()[0]
    assert again == (
        f"imported 0 comments in 0 new threads ({fmt}); already there: {imported} comments,"
        " 2 threads"
    )
    with connection():
        assert (Thread.select().count(), Comment.select().count()) == before


def test_import_with_the_wrong_format_says_what_the_file_is_not(cli_site):
    _, run = cli_site()
    failed(
        run("import", FIXTURES / "artalk.json", "--format", "waline", ok=False),
        "Not a Waline export",
    )
    failed(
        run("import", FIXTURES / "comments.csv", "--format", "artalk", ok=False),
        "Not an Artalk Artrans file: it is not a JSON array",
    )
    failed(
        run("import", FIXTURES / "waline.json", "--format", "csv", ok=False),
        "Not a CSV file of comments: its first row has no id, thread_uri, text column",
    )
