"""A large import reads its file in a second process (importers/pipeline.py): the same
comments come in as when one process does everything, and a bad file fails the same way."""

from __future__ import annotations

import datetime as dt
import pickle
from dataclasses import fields, replace
from pathlib import Path

import pytest

from commentd.errors import CommentdError
from commentd.services.export import lines
from commentd.services.importers import Importer, pipeline
from commentd.services.importers.records import CommentRecord
from commentd.services.keys import Keys
from commentd.services.site import open_site
from commentd.storage.database import close_database, connection, database_proxy
from commentd.storage.models import Status, Thread

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def imported(make_config, tmp_path, name: str, parallel: bool, **run) -> tuple[object, list]:
    """(summary, the export's lines without its header) of importing ``name`` into a new site."""
    config = make_config(**{"database.url": f"sqlite:///{tmp_path / f'{parallel}.db'}"})
    open_site(config)
    try:
        with connection():
            importer = Importer(config, Keys.from_secret(config.security.secret), parallel=parallel)
            summary = importer.run(FIXTURES / name, **run)
            return summary, list(lines())[1:]
    finally:
        close_database(database_proxy.obj)


@pytest.mark.parametrize("name", ["disqus.xml", "wordpress.xml"])
def test_two_processes_import_exactly_what_one_does(make_config, tmp_path, name):
    one, alone = imported(make_config, tmp_path, name, parallel=False)
    two, paired = imported(make_config, tmp_path, name, parallel=True)
    assert paired == alone
    assert two == one
    assert one.comments_imported > 3


def test_progress_counts_every_byte_of_the_file(make_config, tmp_path):
    seen = []
    config = make_config()
    open_site(config)
    with connection():
        importer = Importer(config, Keys.from_secret(config.security.secret), parallel=True)
        importer.run(FIXTURES / "disqus.xml", progress=seen.append)
    assert sum(seen) == (FIXTURES / "disqus.xml").stat().st_size


@pytest.mark.parametrize(
    ("name", "code"), [("xxe.xml", "unsafe_xml"), ("billion-laughs.xml", "unsafe_xml")]
)
def test_the_readers_refusal_is_raised_here(make_config, name, code):
    config = make_config()
    open_site(config)
    with connection():
        importer = Importer(config, Keys.from_secret(config.security.secret), parallel=True)
        with pytest.raises(CommentdError) as caught:
            importer.run(FIXTURES / name, format="disqus")
        assert caught.value.code == code
        assert Thread.select().count() == 0


def test_only_large_files_on_several_cores_take_two_processes(tmp_path, monkeypatch):
    small = tmp_path / "small.xml"
    small.write_bytes(b"x" * 100)
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 2)
    assert not pipeline.worth_it(small)
    monkeypatch.setattr(pipeline, "MIN_BYTES", 100)
    assert pipeline.worth_it(small)
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 1)
    assert not pipeline.worth_it(small)


def test_a_comment_crosses_the_pipe_with_every_field():
    record = CommentRecord(
        "c1",
        "t1",
        "c0",
        dt.datetime(2020, 2, 3, 4, 5, 6, 789012),
        Status.SPAM,
        markdown="*hi*\nthere <b>b</b>",
        breaks=True,
        raw_html=True,
        author="Ann",
        email="ann@example.com",
        website="https://ann.example/",
        remote_addr="198.51.100.7",
        likes=3,
        dislikes=1,
        notify=True,
        extra={"modified": dt.datetime(2021, 1, 1), "pinned": True},
    )
    wire = pickle.dumps(pipeline._packed(record))
    crossed = pipeline._unpacked(pickle.loads(wire))  # noqa: S301 - the test's own bytes
    rendered = ("<p><em>hi</em><br>\nthere <strong>b</strong></p>\n", "*hi*\nthere <b>b</b>")
    assert crossed == replace(
        record, markdown=None, breaks=False, raw_html=False, prepared=rendered
    )  # rendering flags are spent in the reader
    assert [f.name for f in fields(CommentRecord)] == [
        *("key", "thread_key", "parent_key", "created", "status", "markdown", "html"),
        *("author", "email", "website", "remote_addr", "likes", "dislikes", "notify"),
        *("extra", "breaks", "raw_html", "prepared"),
    ], "a new field must cross the pipe too (pipeline._packed), unless only rendering uses it"
    undated = replace(record, created=None, extra={})
    assert pipeline._unpacked(pipeline._packed(undated)).created is None
