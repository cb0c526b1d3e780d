"""The spam filter and the screening signals over HTTP: what the filter holds, what each signal
records, training from the admin page and mailed links, Akismet feedback through the outbox,
and the admin's spam page."""

from __future__ import annotations

import datetime as dt

import pytest

from commentd.services import catches, links, metrics
from commentd.services import filter as spam_filter
from commentd.services.audit import Actor
from commentd.services.moderation import ModerationService
from commentd.services.outbox import Worker
from commentd.services.site import open_site
from commentd.storage.database import connection, write_transaction
from commentd.storage.models import Comment, OutboxMessage, Status, utcnow
from tests.spam_corpus import split, store
from tests.web import test_admin, test_moderation_api
from tests.web.test_moderation_api import FakeAkismet

# the fixtures those tests use: a site built with settings, an admin browser, a fake Akismet
site = test_moderation_api.site
akismet = test_moderation_api.akismet
admin_site = test_admin.admin_site

CLI = Actor("cli", "tester")
SPAM_TEXT = "Buy cheap viagra and cialis online, no prescription needed https://rx-pills-cheap.com"
HAM_TEXT = "Thanks for the write-up, the part about WAL mode fixed my locking errors."


def trained_on_corpus() -> None:
    """Store the corpus' training split as decided comments and train the filter on it."""
    store(split()[0])
    spam_filter.train_stored(CLI)


def stored(cid: int) -> Comment:
    return Comment.get_by_id(cid)


def test_a_trained_filter_holds_spam_and_publishes_genuine_comments(site):
    client, _ = site(**{"spam.filter_min_trained": 20})
    trained_on_corpus()
    before = metrics.FILTER_DECISIONS.value({"decision": "spam"})
    spam = client.post_comment(text=SPAM_TEXT, author="Pharmacy", website="https://rx.example")
    ham = client.post_comment(text=HAM_TEXT, author="Ada")
    assert spam.json["comment"]["status"] == "pending"  # to its author spam looks held
    assert stored(spam.json["comment"]["id"]).status == Status.SPAM
    assert stored(spam.json["comment"]["id"]).caught_by == "filter"
    assert ham.json["comment"]["status"] == "approved"
    assert stored(ham.json["comment"]["id"]).caught_by is None
    assert metrics.FILTER_DECISIONS.value({"decision": "spam"}) == before + 1
    shown = [c["id"] for c in client.thread().json["comments"]]
    assert shown == [ham.json["comment"]["id"]]


def test_a_score_between_the_thresholds_holds_the_comment(site):
    client, _ = site(**{"spam.filter_min_trained": 20, "spam.filter_spam": 100})
    trained_on_corpus()
    held = client.post_comment(text=SPAM_TEXT).json["comment"]
    assert held["status"] == "pending"
    assert stored(held["id"]).status == Status.PENDING
    assert stored(held["id"]).caught_by == "filter"


def test_an_untrained_or_disabled_filter_says_nothing(site):
    client, _ = site(**{"spam.filter_min_trained": 1000})
    trained_on_corpus()  # fewer comments of each class than asked for
    silent = client.post_comment(text=SPAM_TEXT).json["comment"]
    assert silent["status"] == "approved"
    client, _ = site(**{"spam.filter": False, "spam.filter_min_trained": 1})
    off = client.post_comment(text=SPAM_TEXT + " again").json["comment"]
    assert off["status"] == "approved"


def test_each_signal_is_recorded_on_the_comment_or_counted_as_a_refusal(site):
    client, _ = site(
        **{
            "moderation.blocked_words": "forbidden",
            "comments.max_links": 1,
            "moderation.min_submit_time": "3s",
        }
    )
    honeypot = client.post_comment(text="bot", homepage="http://bot.example").json["comment"]
    forged = client.post_comment(text="bot 2", form_stamp="123.forged").json["comment"]
    assert client.post_comment(text="a forbidden word").status == 403
    assert client.post_comment(text="http://a.example http://b.example").status == 400
    assert client.post_comment(text="twice").status == 201
    assert client.post_comment(text="twice").status == 409
    assert stored(honeypot["id"]).caught_by == "honeypot"
    assert stored(forged["id"]).caught_by == "time_trap"
    found = {s.signal: s for s in catches.report(1).signals}
    assert (found["honeypot"].stored, found["time_trap"].stored) == (1, 1)
    assert found["blocklist"].refused == 1
    assert found["link_limit"].refused == 1
    assert found["duplicate"].refused == 1
    assert Comment.select().count() == 3  # nothing of a refused comment is stored


def test_approving_a_caught_comment_counts_as_its_signals_false_positive(site):
    client, config = site(
        **{"moderation.blocklist_action": "hold", "moderation.blocked_words": "x"}
    )
    held = client.post_comment(text="x marks the spot").json["comment"]
    assert stored(held["id"]).caught_by == "blocklist"
    ModerationService(config).approve([held["id"]], CLI)
    (blocklist,) = [s for s in catches.report(7).signals if s.signal == "blocklist"]
    assert (blocklist.caught, blocklist.stored, blocklist.approved) == (1, 1, 1)


def test_proof_of_work_can_record_its_catches(site):
    """The hook another signal calls: a refusal without a comment, a catch with one."""
    from commentd.services.screening import record_catch

    client, _ = site(**{"moderation.mode": "all"})
    cid = client.post_comment(text="held").json["comment"]["id"]
    record_catch("proof_of_work")
    with write_transaction():
        record_catch("proof_of_work", stored(cid))
    (pow_stats,) = [s for s in catches.report(1).signals if s.signal == "proof_of_work"]
    assert (pow_stats.refused, pow_stats.stored) == (1, 1)
    with pytest.raises(ValueError, match="unknown screening signal"):
        record_catch("made_up")


def test_refusals_are_counted_per_day_and_leave_the_period(site):
    site()
    catches.record_refusal("duplicate", clock=lambda: utcnow() - dt.timedelta(days=10))
    catches.record_refusal("duplicate")
    (duplicate,) = [s for s in catches.report(7).signals if s.signal == "duplicate"]
    assert duplicate.refused == 1  # today's; the one ten days ago is outside the week
    (older,) = [s for s in catches.report(11).signals if s.signal == "duplicate"]
    assert older.refused == 2


# -- training from every place a decision is taken ----------------------------------------


def test_the_admin_page_trains_the_filter_and_shows_the_spam_page(admin_site):
    client, admin, _ = admin_site()
    spam = client.post_comment(text=SPAM_TEXT).json["comment"]["id"]
    ham = client.post_comment(text=HAM_TEXT).json["comment"]["id"]
    admin.login()
    assert admin.post("/admin/comments", {"action": "spam", "ids": [spam]}).status == 303
    assert admin.post("/admin/comments", {"action": "approve", "ids": [ham]}).status == 303
    with connection():
        assert (stored(spam).filter_label, stored(ham).filter_label) == ("spam", "ham")
        assert spam_filter.model_size()[:2] == (1, 1)
    page = admin.get("/admin/spam?days=7")
    assert page.status == 200
    assert "learned from 1 spam and 1 approved comments" in page.text
    assert "proof of work" in page.text
    assert "Approved since" in page.text
    assert admin.get("/admin/spam?days=0").status == 400
    assert admin.get("/admin/spam?days=abc").status == 400


def test_a_mailed_moderation_link_trains_the_filter(site):
    client, config = site(**{"moderation.mode": "all", "mail.admin": "admin@example.com"})
    cid = client.post_comment(text=SPAM_TEXT).json["comment"]["id"]
    keys = open_site(config).keys
    link = links.moderation_token(keys, "spam", cid, utcnow() + dt.timedelta(hours=1))
    assert client.post(f"/moderate/{link}", headers={"Origin": config.public_url}).status == 200
    assert stored(cid).filter_label == "spam"


# -- Akismet hears the decisions ----------------------------------------------------------


def test_decisions_go_back_to_akismet_through_the_outbox(site, akismet):
    client, config = site(
        **{
            "moderation.mode": "all",
            "moderation.akismet_key": "k123",
            "moderation.akismet_url": akismet,
        }
    )
    spam = client.post_comment(text="cheap pills deals", email="v@example.com").json["comment"][
        "id"
    ]
    ham = client.post_comment(text=HAM_TEXT, author="Ada").json["comment"]["id"]
    FakeAkismet.received.clear()
    moderation = ModerationService(config)
    moderation.mark_spam([spam], CLI)
    moderation.approve([ham], CLI)
    assert FakeAkismet.received == []  # nothing sent on the request path
    assert [m.recipient for m in OutboxMessage.select().where(OutboxMessage.kind == "akismet")] == [
        "submit-spam",
        "submit-ham",
    ]
    assert Worker(config).run_once() == 2
    sent = {r["path"]: r for r in FakeAkismet.received}
    assert set(sent) == {"/1.1/submit-spam", "/1.1/submit-ham"}
    assert sent["/1.1/submit-spam"]["comment_content"] == "cheap pills deals"
    assert sent["/1.1/submit-spam"]["comment_author_email"] == "v@example.com"
    assert sent["/1.1/submit-spam"]["api_key"] == "k123"
    assert sent["/1.1/submit-ham"]["comment_author"] == "Ada"
    assert sent["/1.1/submit-ham"]["permalink"].endswith("/post/")
    assert sent["/1.1/submit-ham"]["user_ip"] == "127.0.0.0"  # the stored network
    assert {m.status for m in OutboxMessage.select()} == {"sent"}


def test_an_unreachable_akismet_is_retried_and_never_slows_a_decision(site):
    _, config = site(
        **{
            "moderation.mode": "all",
            "moderation.akismet_key": "k123",
            "moderation.akismet_url": "http://127.0.0.1:9",
        }
    )
    client, _ = site(**{"moderation.mode": "all"})
    cid = client.post_comment(text=HAM_TEXT).json["comment"]["id"]
    ModerationService(config).approve([cid], CLI)
    Worker(config).run_once()
    (message,) = OutboxMessage.select()
    assert (message.kind, message.status, message.attempts) == ("akismet", "pending", 1)
    assert "URLError" in message.last_error or "Connection" in message.last_error


def test_without_akismet_no_decision_is_queued(site):
    client, config = site(**{"moderation.mode": "all"})
    cid = client.post_comment(text=HAM_TEXT).json["comment"]["id"]
    ModerationService(config).approve([cid], CLI)
    assert OutboxMessage.select().count() == 0
