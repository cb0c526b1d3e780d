"""``commentd audit``: the audit log from the shell, filtered by age and actor; and the
commands that are audited too: ``outbox retry``, ``import``."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path

import pytest

from commentd.services import audit
from commentd.services.audit import Actor
from commentd.storage.database import connection, write_transaction
from commentd.storage.models import AuditEntry, Comment, OutboxMessage, Thread
from tests.cli.helpers import table_rows

DISQUS = Path(__file__).parent.parent / "fixtures" / "import" / "disqus.xml"
SHELL_USER = getpass.getuser()


@pytest.fixture
def shell(cli_site):
    return cli_site()


def write(actor: Actor, action: str, days_ago: int = 0, **detail) -> int:
    with connection(), write_transaction():
        entry = audit.record(actor, action, "comment", 7, detail)
        if days_ago:
            entry.created = entry.created - dt.timedelta(days=days_ago)
            entry.save()
        return entry.id


def listed(run, *args) -> dict:
    return json.loads(run("audit", "--json", *args).stdout)


def test_the_log_as_a_table_newest_first(shell):
    _, run = shell
    write(Actor("cli", "alice"), "approve", days_ago=2, **{"from": "pending"})
    write(Actor("admin", "admin", "203.0.113.0"), "spam", **{"from": "approved"})
    result = run("audit")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["WHEN", "WHO", "FROM", "WHAT", "ON", "DETAIL"]
    rows = table_rows(lines)
    assert [row[1:] for row in rows] == [
        ["admin (admin)", "203.0.113.0", "spam", "comment #7", "from: approved"],
        ["cli (alice)", "-", "approve", "comment #7", "from: pending"],
    ]
    assert result.stderr == "2 of 2 entries\n"


def test_json_with_every_field(shell):
    _, run = shell
    entry_id = write(Actor("email", "mail.admin", "198.51.100.0"), "delete", reason="spam")
    assert listed(run) == {
        "total": 1,
        "entries": [
            {
                "id": entry_id,
                "created": listed(run)["entries"][0]["created"],
                "actor": "email",
                "actor_name": "mail.admin",
                "network": "198.51.100.0",
                "action": "delete",
                "target_type": "comment",
                "target_id": 7,
                "detail": {"reason": "spam"},
            }
        ],
    }
    assert listed(run)["entries"][0]["created"].endswith("Z")


def test_since_an_age_or_a_date(shell):
    _, run = shell
    old = write(Actor("cli", "alice"), "approve", days_ago=10)
    recent = write(Actor("cli", "alice"), "spam", days_ago=3)
    today = write(Actor("cli", "alice"), "delete")
    ids = lambda *args: [e["id"] for e in listed(run, *args)["entries"]]  # noqa: E731
    assert ids() == [today, recent, old]
    assert ids("--since", "7d") == [today, recent]
    assert ids("--since", "1h") == [today]
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=5)).date().isoformat()
    assert ids("--since", since) == [today, recent]
    assert listed(run, "--since", "1d")["total"] == 1


def test_actor_by_kind_or_by_name(shell):
    _, run = shell
    a = write(Actor("cli", "alice"), "approve")
    b = write(Actor("cli", "bob"), "approve")
    c = write(Actor("admin", "admin", "127.0.0.0"), "spam")
    ids = lambda *args: [e["id"] for e in listed(run, *args)["entries"]]  # noqa: E731
    assert ids("--actor", "cli") == [b, a]
    assert ids("--actor", "bob") == [b]
    assert ids("--actor", "admin") == [c]
    assert ids("--actor", "nobody") == []
    assert ids("--actor", "cli", "--since", "1h") == [b, a]


def test_limit_and_pages(shell):
    _, run = shell
    ids = [write(Actor("cli", "alice"), "approve") for _ in range(5)][::-1]
    first = run("audit", "--limit", "2")
    assert len(table_rows(first.stdout.splitlines())) == 2
    assert first.stderr == "2 of 5 entries; --page 2 for older\n"
    assert [e["id"] for e in listed(run, "--limit", "2", "--page", "3")["entries"]] == ids[4:]
    assert run("audit", "--limit", "2", "--page", "3").stderr == "1 of 5 entries\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "is neither an age (7d, 12h) nor a date"),
        (["--limit", "0"], "0 is not in the range 1<=x<=1000"),
        (["--limit", "1001"], "1001 is not in the range 1<=x<=1000"),
        (["--page", "0"], "0 is not in the range x>=1"),
    ],
)
def test_bad_options_are_usage_errors(shell, args, message):
    _, run = shell
    result = run("audit", *args, ok=False)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def last() -> AuditEntry:
    with connection():
        return audit.entries(limit=1)[0]


def test_outbox_retry_from_the_shell_is_audited(shell):
    _, run = shell
    with connection():
        message = OutboxMessage.create(
            kind="webhook", recipient="https://hooks.example/x", payload="{}", status="failed"
        )
    run("outbox", "retry", message.id)
    entry = last()
    assert (entry.actor, entry.actor_name, entry.action) == ("cli", SHELL_USER, "retry")
    assert (entry.target_type, entry.target_id) == ("outbox", message.id)
    assert audit.detail_of(entry) == {"kind": "webhook"}
    [row] = table_rows(run("audit", "--actor", "cli").stdout.splitlines())
    assert row[3:5] == ["retry", f"outbox #{message.id}"]


def test_an_import_is_audited_with_its_counts_and_a_dry_run_is_not(shell):
    _, run = shell
    run("import", DISQUS, "--dry-run")
    with connection():
        assert AuditEntry.select().count() == 0
    run("import", DISQUS)
    entry = last()
    assert (entry.actor, entry.actor_name, entry.action) == ("cli", SHELL_USER, "import")
    assert audit.detail_of(entry) == {
        "file": "disqus.xml",
        "format": "disqus",
        "comments": 6,
        "threads": 2,
        "votes": 0,
        "hidden": 0,
        "skipped": 3,
    }
    run("import", DISQUS)  # again: nothing new, still a record of who ran it
    assert audit.detail_of(last())["comments"] == 0


def test_an_import_stopped_by_an_error_after_writing_is_audited_with_it(
    shell, tmp_path, monkeypatch
):
    monkeypatch.setattr("commentd.services.importers.BATCH", 1)  # each record its own batch
    monkeypatch.setattr("commentd.services.importers.xmlstream.CHUNK", 512)  # parsed as read
    _, run = shell
    text = DISQUS.read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    broken.write_text(text[: text.index('<post dsq:id="5004">')] + "<post><oops></post>")
    result = run("import", broken, ok=False)
    assert result.exit_code == 1
    entry = last()
    assert entry.action == "import"
    detail = audit.detail_of(entry)
    with connection():
        written = (Thread.select().count(), Comment.select().count())
    assert written[1] > 0  # batches were written before the error
    assert (detail["file"], detail["threads"], detail["comments"]) == ("broken.xml", *written)
    assert detail["error"] in result.output


def test_an_import_refused_before_writing_anything_is_not_audited(shell, tmp_path):
    _, run = shell
    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0"?><disqus xmlns="http://disqus.com"><oops></disqus>')
    assert run("import", broken, "--format", "disqus", ok=False).exit_code == 1
    with connection():
        assert AuditEntry.select().count() == 0
