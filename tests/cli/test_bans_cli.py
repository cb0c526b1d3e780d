"""``commentd ban``, ``unban`` and ``bans list``: bans from the shell reach new comments."""

from __future__ import annotations

import json
import re
import time

import pytest

from commentd.services import audit
from commentd.storage.database import connection
from commentd.storage.models import Ban
from tests.cli.helpers import failed


@pytest.fixture
def site(cli_site, monkeypatch):
    # The server rereads bans every BANS_TTL seconds; here every comment rereads them.
    monkeypatch.setattr("commentd.services.screening.BANS_TTL", 0)
    return cli_site


def rows(output: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line) for line in output.splitlines()[1:] if line.strip()]


def test_a_banned_word_is_refused_until_unbanned(site):
    client, run = site()
    assert client.post_comment(text="casino tips").status == 201
    result = run("ban", "word", "Casino", "--reason", "spam wave")
    assert result.output == "banned word casino\n"
    refused = client.post_comment(text="best CASINO in town")
    assert (refused.status, refused.error_code) == (403, "blocked")
    assert client.post_comment(text="casinos are fine, whole words only").status == 201
    assert run("unban", "word", "CASINO").output == "unbanned word casino\n"
    assert client.post_comment(text="casino again").status == 201
    with connection():
        assert [e.action for e in audit.entries()[:2]] == ["unban", "ban"]


def test_with_blocklist_action_hold_a_banned_word_is_held(site):
    client, run = site(**{"moderation.blocklist_action": "hold"})
    run("ban", "word", "casino")
    posted = client.post_comment(text="casino")
    assert posted.status == 201
    assert posted.json["comment"]["status"] == "pending"
    assert client.thread().json["comments"] == []


def test_a_banned_ip_blocks_the_client(site):
    client, run = site()
    assert run("ban", "ip", "127.0.0.1").output == "banned ip 127.0.0.1/32\n"
    assert client.post_comment(text="hello").error_code == "blocked"
    run("unban", "ip", "127.0.0.1/32")
    assert client.post_comment(text="hello").status == 201
    assert run("ban", "ip", "127.0.0.0/8").output == "banned ip 127.0.0.0/8\n"
    assert client.post_comment(text="hello").error_code == "blocked"


def test_a_banned_email_or_domain_is_refused(site):
    client, run = site()
    run("ban", "email", "Troll@Example.com")
    run("ban", "email", "@spam.example")
    assert client.post_comment(email="troll@example.com").error_code == "blocked"
    assert client.post_comment(email="any@spam.example").error_code == "blocked"
    assert client.post_comment(email="friend@example.com").status == 201


def test_a_domain_ban_is_stored_as_its_host_and_listed(site):
    _, run = site()
    assert run("ban", "domain", " HTTPS://Spam.Example/ ").output == "banned domain spam.example\n"
    failed(run("ban", "domain", "spam.example", ok=False), "domain spam.example is already banned.")
    failed(run("ban", "domain", "not a host", ok=False), "is not a domain such as example.org")
    assert [(r[0], r[1]) for r in rows(run("bans", "list").output)] == [("domain", "spam.example")]
    assert run("unban", "domain", "spam.example").output == "unbanned domain spam.example\n"


def test_bans_list_as_a_table_and_json(site):
    _, run = site()
    assert rows(run("bans", "list").output) == []
    run("ban", "word", "casino", "--reason", "spam wave")
    run("ban", "email", "troll@example.com")
    listing = run("bans", "list").output
    assert listing.splitlines()[0].split() == ["KIND", "VALUE", "SINCE", "REASON"]
    assert [(r[0], r[1], r[3]) for r in rows(listing)] == [
        ("email", "troll@example.com", "-"),
        ("word", "casino", "spam wave"),
    ]
    data = json.loads(run("bans", "list", "--json").output)
    assert [(b["kind"], b["value"], b["reason"]) for b in data] == [
        ("email", "troll@example.com", None),
        ("word", "casino", "spam wave"),
    ]
    assert all(b["created"].endswith("Z") for b in data)


def test_bad_values_twice_and_not_banned_fail_cleanly(site):
    _, run = site()
    failed(run("ban", "ip", "not-an-ip", ok=False), "'not-an-ip' is not an IP address")
    failed(run("ban", "email", "nobody", ok=False), "'nobody' is not an email address")
    failed(run("ban", "word", "  ", ok=False), "Give a value of 1 to 256 characters.")
    failed(run("ban", "name", "x", ok=False), "'name' is not one of 'email', 'ip', 'word'", code=2)
    run("ban", "word", "casino")
    failed(run("ban", "word", "CASINO", ok=False), "word casino is already banned.")
    failed(run("unban", "word", "poker", ok=False), "word poker is not banned.")
    failed(run("unban", "ip", "999.1.1.1", ok=False), "is not an IP address")
    with connection():
        assert [(b.kind, b.value) for b in Ban.select()] == [("word", "casino")]


def test_a_ban_reaches_a_running_server_within_its_reread_time(cli_site, monkeypatch):
    monkeypatch.setattr("commentd.services.screening.BANS_TTL", 0.5)
    client, run = cli_site()
    assert client.post_comment(text="casino talk, before").status == 201  # bans read now
    run("ban", "word", "casino")
    time.sleep(0.6)
    assert client.post_comment(text="casino talk, after").error_code == "blocked"
