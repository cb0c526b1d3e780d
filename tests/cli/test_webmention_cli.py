"""``commentd webmention send URL``: one line per link, queued through the outbox;
``--dry-run`` sends nothing; pages of other sites are refused with one error line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from commentd.cli import cli
from commentd.services.outbox import Worker
from commentd.storage.database import connection
from commentd.storage.models import OutboxMessage
from tests.cli.helpers import failed
from tests.pages import Answer, serving
from tests.services.test_webmention_send import (  # noqa: F401 - fixtures
    blog,
    html,
    post_linking,
    target,
)


@pytest.fixture
def run(blog, database_url, monkeypatch):  # noqa: F811
    """Run ``commentd`` on the blog's database and config, from the environment."""
    config, _ = blog
    monkeypatch.setenv("COMMENTD_DATABASE_URL", database_url)
    monkeypatch.setenv("COMMENTD_SECURITY_SECRET", config.security.secret)
    monkeypatch.setenv("COMMENTD_SITE_URL", config.site.url)
    monkeypatch.setenv("COMMENTD_WEBMENTION_ALLOW_PRIVATE_ADDRESSES", "true")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_send_prints_each_link_and_queues_what_has_an_endpoint(blog, target, run):  # noqa: F811
    config, site = blog
    target.pages["/a"] = html("", '<link rel="webmention" href="/wm">')
    target.pages["/b"] = html("<p>none</p>")
    target.pages["/wm"] = Answer("", 201)
    source = post_linking(site, [target.url("/a"), target.url("/b")])
    result = run("webmention", "send", source)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{target.url('/a')}  {target.url('/wm')}  queued",
        f"{target.url('/b')}  no endpoint",
    ]
    assert result.stderr.strip() == "2 links, 1 Webmentions queued"
    with connection():
        assert Worker(config, steps=[]).run_once() == 1
        assert OutboxMessage.get().status == "sent"
    assert [r.method for r in target.received if r.path == "/wm"] == ["POST"]


def test_dry_run_prints_the_endpoints_and_queues_nothing(blog, target, run):  # noqa: F811
    _, site = blog
    target.pages["/a"] = html("", '<link rel="webmention" href="/wm">')
    result = run("webmention", "send", "--dry-run", post_linking(site, [target.url("/a")]))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{target.url('/a')}  {target.url('/wm')}  not queued (dry run)"
    ]
    with connection():
        assert OutboxMessage.select().count() == 0
    assert all(r.method == "GET" for r in target.received)


def test_a_page_of_another_site_is_refused(run):
    with serving("127.0.0.2") as elsewhere:
        result = run("webmention", "send", elsewhere.url("/post/"))
    failed(result, "is not a page of the site")
