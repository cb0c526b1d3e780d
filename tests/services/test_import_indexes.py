"""A first import into an empty database builds the comment indexes at its end
(storage/indexes.py): afterwards the schema is exactly as before, whatever stopped the import."""

from __future__ import annotations

from pathlib import Path

import pytest

from commentd.errors import CommentdError
from commentd.services.site import open_site
from commentd.storage import indexes
from commentd.storage.database import connection, database_proxy
from commentd.storage.models import Comment, Setting

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def comment_indexes() -> dict[str, bool]:
    """The comment table's indexes: name -> unique."""
    return {i.name: i.unique for i in database_proxy.obj.get_indexes("comment")}


def test_an_import_into_an_empty_table_ends_with_every_index(site, monkeypatch):
    _, importer = site
    before = comment_indexes()
    seen = []
    real = indexes.defer
    monkeypatch.setattr(indexes, "defer", lambda model: seen.append(real(model)) or seen[-1])
    summary = importer.run(FIXTURES / "disqus.xml")
    assert summary.comments_imported > 3
    dropped = seen[0]
    assert dropped
    assert all(not before[name] for name in dropped)  # unique ones stay
    assert "comment_idempotency_key" not in dropped
    assert comment_indexes() == before
    assert Setting.get_or_none(Setting.key == indexes.SETTING) is None


def test_an_import_into_a_table_with_comments_keeps_its_indexes(site):
    _, importer = site
    importer.run(FIXTURES / "disqus.xml")
    before = comment_indexes()
    with indexes.deferred(Comment) as dropped:
        assert dropped == []
        assert comment_indexes() == before


def test_a_failed_import_still_ends_with_every_index(site, tmp_path):
    _, importer = site
    before = comment_indexes()
    broken = tmp_path / "broken.xml"
    text = (FIXTURES / "disqus.xml").read_text()
    broken.write_text(text[: text.rindex("</post>")] + "<post><unclosed>")
    with pytest.raises(CommentdError):
        importer.run(broken, format="disqus")
    assert comment_indexes() == before


def test_indexes_dropped_by_a_killed_import_are_built_when_the_database_opens(site):
    config, _ = site
    before = comment_indexes()
    dropped = indexes.defer(Comment)  # as a killed import leaves the database
    assert dropped
    assert set(comment_indexes()) == set(before) - set(dropped)
    assert indexes.defer(Comment) == []  # deferred once only
    open_site(config)
    with connection():
        assert comment_indexes() == before
        assert Setting.get_or_none(Setting.key == indexes.SETTING) is None


def test_a_rebuild_with_nothing_deferred_does_nothing(site):
    before = comment_indexes()
    assert indexes.rebuild_deferred() == 0
    assert comment_indexes() == before
