"""The admin page's bans, commenter view and outbox banner in a real Chromium: a moderator
follows the banner, bans a spammer's email from the queue, cleans up their comments in the
commenter view, manages the ban list, with and without JavaScript, and axe-core finds
nothing on the new pages."""

from __future__ import annotations

import pytest

from commentd.services import admin_auth
from commentd.services.audit import Actor
from commentd.storage.database import connection
from commentd.storage.models import Ban, OutboxMessage, Status
from tests.browser.conftest import AXE_JS, watch
from tests.browser.test_admin import AXE_RUN, PASSWORD, sign_in, status_of

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


@pytest.fixture(autouse=True)
def fresh_bans(monkeypatch):
    # The server rereads bans every BANS_TTL seconds; here every comment rereads them.
    monkeypatch.setattr("commentd.services.screening.BANS_TTL", 0)


@pytest.fixture
def moderated(site):
    """A site that holds every comment, with an admin password, a spammer's two comments in
    two threads, someone else's, and a failed outbox message."""
    s = site(**{"moderation.mode": "all"})
    with connection():
        admin_auth.set_password(PASSWORD, Actor("cli", "test"))
        OutboxMessage.create(
            kind="email", recipient="admin@example.com", payload="{}", status="failed"
        )
    spam = [
        s.comment(text="Cheap pills here", email="spam@example.com")["id"],
        s.comment(text="More cheap pills", email="spam@example.com", uri="/other/")["id"],
    ]
    kept = s.comment(text="A real comment", email="ada@example.com")["id"]
    return s, spam, kept


def bans_now() -> list[tuple[str, str]]:
    with connection():
        return [(b.kind, b.value) for b in Ban.select().order_by(Ban.id)]


def axe_clean(page) -> None:
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))  # through DevTools: the CSP allows no inline
    assert page.evaluate(AXE_RUN) == []


def test_from_the_banner_to_a_ban_to_the_commenter_view_and_back(moderated, page):
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core missing at {AXE_JS}: run npm ci --prefix tests/browser")
    s, spam, kept = moderated
    sign_in(page, s)
    banner = page.locator("p.warning")
    expect(banner).to_contain_text("1 message(s) in the outbox failed to send")
    axe_clean(page)
    banner.get_by_role("link", name="See the failed messages").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    expect(page.locator("tr.message.status-failed")).to_have_count(1)

    page.get_by_role("link", name="Moderation").click()
    first = page.locator(f"#c{spam[0]}")
    first.get_by_role("button", name=f"Ban this email (comment #{spam[0]})").click()
    expect(page.get_by_role("status")).to_have_text("Banned the comment's email.")
    assert bans_now() == [("email", "spam@example.com")]
    expect(page.locator(f"#c{spam[1]} .badge.banned")).to_have_text("email banned")
    expect(page.locator(f"#c{kept}").get_by_role("button", name="Ban this email")).to_be_visible()
    assert [status_of(cid) for cid in (*spam, kept)] == [Status.PENDING] * 3  # a ban only bans

    page.locator(f"#c{spam[0]}").get_by_role("link", name="spam@example.com").click()
    expect(page.get_by_role("heading", name="Comments by spam@example.com")).to_be_visible()
    expect(page.locator("li.comment")).to_have_count(2)
    axe_clean(page)
    page.get_by_label("Select all").check()
    page.get_by_role("button", name="Spam", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Marked 2 comment(s) as spam.")
    expect(page.get_by_role("heading", name="Comments by spam@example.com")).to_be_visible()
    assert [status_of(cid) for cid in spam] == [Status.SPAM] * 2
    assert status_of(kept) == Status.PENDING
    refused = s.api.post_comment(text="back again", email="SPAM@example.com")
    assert (refused.status, refused.error_code) == (403, "blocked")

    page.get_by_role("link", name="Bans").click()
    expect(page.locator("tr.ban")).to_have_count(1)
    axe_clean(page)
    page.get_by_label("Kind").select_option("ip")
    page.get_by_label("Value").fill("not a network")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("is not an IP address or CIDR network.")
    expect(page.get_by_label("Value")).to_have_value("not a network")
    axe_clean(page)  # the form again, with its error
    page.get_by_label("Value").fill("198.51.100.0/24")
    page.get_by_label("Reason (optional, for the other moderators)").fill("a bot farm")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Added the ban.")
    expect(page.locator("tr.ban")).to_have_count(2)
    page.get_by_role("button", name="Remove the ban of email spam@example.com").click()
    expect(page.get_by_role("status")).to_have_text("Lifted the ban.")
    assert bans_now() == [("ip", "198.51.100.0/24")]
    assert s.api.post_comment(text="welcome back", email="spam@example.com").status == 201
    # the one error: Chromium's line for the refused form's page, answered with its status
    assert page.errors == [
        "console.error: Failed to load resource: the server responded with a status of 400"
        " (Bad Request)"
    ], page.errors


def test_ban_this_network_from_a_comment_page_without_javascript(moderated, new_context):
    s, spam, _ = moderated
    page = watch(new_context(java_script_enabled=False).new_page())
    sign_in(page, s)
    page.goto(f"{s.api_origin}/admin/comments/{spam[0]}")
    page.get_by_role("button", name=f"Ban this network (comment #{spam[0]})").click()
    expect(page.get_by_role("status")).to_have_text("Banned the comment's network.")
    expect(page.locator(".badge.banned")).to_have_text("network banned")
    assert bans_now() == [("ip", "127.0.0.0/24")]
    page.get_by_role("link", name="Every comment from this network").click()
    expect(page.get_by_role("heading", name="Comments from 127.0.0.0/24")).to_be_visible()
    expect(page.locator("li.comment")).to_have_count(3)
    page.locator(f"#c{spam[1]}").get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete").click()  # no confirmation without JavaScript
    expect(page.get_by_role("status")).to_have_text("Deleted 1 comment(s).")
    assert status_of(spam[1]) == Status.DELETED
    assert page.errors == []
