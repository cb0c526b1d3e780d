"""Moderation as readers meet it over HTTP: modes, blocklists, bot traps, locks, pins, spam."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import urllib.parse

import pytest

from commentd.services.audit import Actor
from commentd.services.keys import Keys
from commentd.services.moderation import ModerationService
from commentd.services.screening import issue_form_stamp
from commentd.storage.models import Comment, Status, Thread, utcnow

CLI = Actor("cli", "tester")


def ids(nodes):
    return [node["id"] for node in nodes]


def status_of(cid: int) -> Status:
    return Comment.get_by_id(cid).status


@pytest.fixture
def site(serve, make_app, make_config):
    """A client for an app built with the given settings (``section__key=value``)."""

    def build(**settings):
        config = make_config(**settings)
        return serve(make_app(config)), config

    return build


# -- moderation modes ---------------------------------------------------------------------


class TestModeFirst:
    @pytest.fixture
    def built(self, site):
        return site(moderation__mode="first")

    def test_a_first_comment_waits_and_later_ones_publish_once_one_is_approved(self, built):
        client, config = built
        first = client.post_comment(text="hello, new here", email="new@example.com").json
        assert first["comment"]["status"] == "pending"
        assert client.thread().json["comments"] == []
        second = client.post_comment(text="still waiting?", email="new@example.com").json
        assert second["comment"]["status"] == "pending"

        ModerationService(config).approve([first["comment"]["id"]], CLI)

        third = client.post_comment(text="now I am known", email="new@example.com").json
        assert third["comment"]["status"] == "approved"
        shown = ids(client.thread().json["comments"])
        assert shown == [first["comment"]["id"], third["comment"]["id"]]

    def test_comments_without_email_always_wait(self, built):
        client, _ = built
        assert client.post_comment(text="anonymous").json["comment"]["status"] == "pending"

    @pytest.mark.parametrize("again", ["ADA@example.com", "  Ada@Example.COM ", "ada@EXAMPLE.com"])
    def test_the_same_address_in_another_case_is_the_same_commenter(self, built, again):
        client, config = built
        known = client.post_comment(text="hello", email="ada@example.com").json["comment"]["id"]
        ModerationService(config).approve([known], CLI)
        later = client.post_comment(text="me again", email=again).json
        assert later["comment"]["status"] == "approved"

    def test_an_address_approved_in_capitals_knows_its_lower_case_self(self, built):
        client, config = built
        known = client.post_comment(text="hello", email="Ada@Example.com").json["comment"]["id"]
        ModerationService(config).approve([known], CLI)
        assert Comment.get_by_id(known).email == "ada@example.com"  # stored in normal form
        later = client.post_comment(text="me again", email="ada@example.com").json
        assert later["comment"]["status"] == "approved"

    def test_another_commenters_approval_does_not_count(self, built):
        client, config = built
        known = client.post_comment(text="a", email="known@example.com").json["comment"]["id"]
        ModerationService(config).approve([known], CLI)
        other = client.post_comment(text="b", email="other@example.com").json
        assert other["comment"]["status"] == "pending"


class TestModeLinks:
    def test_comments_with_links_wait_and_plain_ones_publish(self, site):
        client, _ = site(moderation__mode="links")
        plain = client.post_comment(text="no links here").json["comment"]
        linked = client.post_comment(text="see https://example.com/x").json["comment"]
        md_link = client.post_comment(text="[click](https://example.com)").json["comment"]
        assert plain["status"] == "approved"
        assert linked["status"] == "pending"
        assert md_link["status"] == "pending"
        assert ids(client.thread().json["comments"]) == [plain["id"]]


class TestRulesCombine:
    @pytest.fixture
    def client(self, site):
        return site(moderation__mode="first, links")[0]

    def test_either_rule_holds(self, client, config):
        first = client.post_comment(text="hi", email="a@example.com").json["comment"]
        assert first["status"] == "pending"
        ModerationService(config).approve([first["id"]], CLI)
        known_plain = client.post_comment(text="again", email="a@example.com").json["comment"]
        known_link = client.post_comment(
            text="look http://spam.example", email="a@example.com"
        ).json["comment"]
        assert known_plain["status"] == "approved"
        assert known_link["status"] == "pending"


def test_mode_all_holds_everything_and_off_holds_nothing(site):
    held, _ = site(moderation__mode="all")
    assert held.post_comment(text="x", email="a@example.com").json["comment"]["status"] == "pending"
    free, _ = site(moderation__mode="off")
    assert free.post_comment(text="see https://e.com").json["comment"]["status"] == "approved"


# -- blocklists ---------------------------------------------------------------------------


class TestBlocklistReject:
    @pytest.fixture
    def client(self, site):
        return site(
            moderation__blocked_words="casino, cheap pills",
            moderation__blocked_emails="spammer@example.com, @spam.example",
            moderation__blocked_networks="127.0.0.0/8",
        )[0]

    @pytest.mark.parametrize(
        "fields",
        [
            {"text": "Best CASINO in town"},
            {"text": "buy cheap pills now"},
            {"text": "hi", "author": "Casino Bob"},
            {"text": "hi", "website": "https://casino.example"},
            {"text": "hi", "email": "Spammer@Example.com"},
            {"text": "hi", "email": "anyone@spam.example"},
        ],
    )
    def test_a_match_is_refused_and_nothing_is_stored(self, site, fields):
        client, _ = site(
            moderation__blocked_words="casino, cheap pills",
            moderation__blocked_emails="spammer@example.com, @spam.example",
        )
        res = client.post_comment("/blocked/", **fields)
        assert res.status == 403
        assert res.error_code == "blocked"
        assert Comment.select().count() == 0
        assert Thread.select().where(Thread.uri == "/blocked/").count() == 0

    def test_words_match_whole_words_only(self, site):
        client, _ = site(moderation__blocked_words="ass, cheap pills")
        assert client.post_comment(text="a classic passage").status == 201
        assert client.post_comment(text="what an ass").error_code == "blocked"
        assert client.post_comment(text="cheap, pills").status == 201

    @pytest.mark.parametrize(
        "text",
        [
            "CHEAP   Pills here",
            "cheap\npills",
            "Cheap\u00a0PILLS",  # a no-break space
            "\uff43\uff48\uff45\uff41\uff50 pills",  # full-width letters
            "\uff23\uff28\uff25\uff21\uff30 \uff30\uff29\uff2c\uff2c\uff33",  # full-width capitals
        ],
    )
    def test_a_phrase_matches_whatever_its_case_spacing_or_unicode_form(self, site, text):
        client, _ = site(moderation__blocked_words="cheap pills")
        res = client.post_comment(text=text)
        assert (res.status, res.error_code) == (403, "blocked")
        assert Comment.select().count() == 0

    def test_a_banned_phrase_is_stored_and_matched_in_normal_form(self, site):
        from commentd.services import bans

        client, _ = site()
        bans.add("word", "  Cheap   PILLS ", CLI)
        assert [b.value for b in bans.all_bans()] == ["cheap pills"]
        assert client.post_comment(text="cheap \t pills, cheap").error_code == "blocked"
        assert client.post_comment(text="cheap tills").status == 201

    def test_a_blocked_network_is_refused(self, client):
        res = client.post_comment(text="perfectly polite")
        assert (res.status, res.error_code) == (403, "blocked")

    def test_a_network_outside_the_list_passes(self, site):
        client, _ = site(moderation__blocked_networks="10.0.0.0/8, 2001:db8::/32")
        assert client.post_comment(text="hello").status == 201


def test_blocklist_hold_keeps_the_comment_pending(site):
    client, _ = site(moderation__blocked_words="casino", moderation__blocklist_action="hold")
    res = client.post_comment(text="casino night was fun")
    assert res.status == 201
    assert res.json["comment"]["status"] == "pending"
    assert status_of(res.json["comment"]["id"]) == Status.PENDING
    assert client.thread().json["comments"] == []


# -- bot traps ----------------------------------------------------------------------------


class TestBotTraps:
    @pytest.fixture
    def built(self, site):
        return site(moderation__min_submit_time="3s")

    def test_a_filled_honeypot_is_stored_as_spam_but_looks_held(self, built):
        client, _ = built
        res = client.post_comment(text="I am a bot", homepage="http://bot.example")
        assert res.status == 201
        assert res.json["comment"]["status"] == "pending"
        cid = res.json["comment"]["id"]
        assert status_of(cid) == Status.SPAM
        assert client.thread().json["comments"] == []
        assert client.get(f"/api/comments/{cid}").status == 404
        mine = client.get(f"/api/comments/{cid}", token=res.json["token"])
        assert (mine.status, mine.json["comment"]["status"]) == (200, "pending")

    def test_a_form_sent_at_once_is_held_not_discarded(self, built):
        client, _ = built
        config = client.get("/api/config").json
        assert config["min_submit_time"] == 3
        res = client.post_comment(text="+1", form_stamp=config["form_stamp"])
        assert res.json["comment"]["status"] == "pending"
        assert status_of(res.json["comment"]["id"]) == Status.PENDING
        assert client.thread().json["comments"] == []

    def test_a_quick_form_is_still_refused_by_the_blocklist(self, site):
        client, _ = site(moderation__min_submit_time="3s", moderation__blocked_words="casino")
        stamp = client.get("/api/config").json["form_stamp"]
        res = client.post_comment(text="casino bonus", form_stamp=stamp)
        assert (res.status, res.error_code) == (403, "blocked")

    def test_a_form_sent_after_a_human_pause_is_published(self, built):
        client, config = built
        keys = Keys.from_secret(config.security.secret)
        stamp = issue_form_stamp(keys.form_stamp, utcnow() - dt.timedelta(seconds=10))
        res = client.post_comment(text="thoughtful", form_stamp=stamp)
        assert res.json["comment"]["status"] == "approved"

    def test_a_forged_stamp_is_spam(self, built):
        client, _ = built
        old = int(utcnow().timestamp()) - 3600
        res = client.post_comment(text="forged", form_stamp=f"{old}.AAAAAAAAAAAAAAAAAAAAAA")
        assert status_of(res.json["comment"]["id"]) == Status.SPAM

    def test_api_clients_without_a_stamp_are_not_timed(self, built):
        client, _ = built
        assert client.post_comment(text="from a script").json["comment"]["status"] == "approved"

    def test_config_hands_out_a_fresh_uncacheable_stamp(self, built):
        client, _ = built
        res = client.get("/api/config")
        assert res.header("Cache-Control") == "no-store"
        assert res.json["form_stamp"].split(".")[0].isdigit()


# -- locks --------------------------------------------------------------------------------


def test_lock_after_closes_old_threads_for_comments_replies_and_votes(site):
    client, _ = site(moderation__lock_after="30d")
    root = client.post_comment("/old/", text="first").json["comment"]["id"]
    assert client.thread("/old/").json["thread"]["locked"] is False
    Thread.update(created=utcnow() - dt.timedelta(days=31)).execute()
    assert client.thread("/old/").json["thread"]["locked"] is True
    for res in (
        client.post_comment("/old/", text="late"),
        client.post_comment("/old/", text="late reply", parent=root),
        client.post(f"/api/comments/{root}/vote", {"value": 1}),
    ):
        assert (res.status, res.error_code) == (403, "thread_locked")
    assert client.post_comment("/new/", text="fresh thread").status == 201


def test_a_locked_thread_refuses_and_unlocking_opens_it(site):
    client, config = site()
    client.post_comment("/t/", text="first")
    moderation = ModerationService(config)
    moderation.lock("/t/", True, CLI)
    assert client.thread("/t/").json["thread"]["locked"] is True
    assert client.post_comment("/t/", text="no").error_code == "thread_locked"
    moderation.lock("/t/", False, CLI)
    assert client.post_comment("/t/", text="yes").status == 201


# -- pins ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["oldest", "newest", "top"])
def test_pinned_comments_come_first_under_every_sort(site, sort):
    client, config = site()
    posted = [client.post_comment(text=f"c{i}").json["comment"]["id"] for i in range(4)]
    ModerationService(config).pin(posted[2], True, CLI)
    comments = client.thread(sort=sort).json["comments"]
    assert comments[0]["id"] == posted[2]
    assert comments[0]["pinned"] is True
    assert [c["pinned"] for c in comments[1:]] == [False] * 3
    assert sorted(ids(comments)) == sorted(posted)


def test_paging_keeps_pinned_comments_on_the_first_page_only(site):
    client, config = site()
    posted = [client.post_comment(text=f"c{i}").json["comment"]["id"] for i in range(5)]
    ModerationService(config).pin(posted[4], True, CLI)
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.thread(**query).json
        seen += ids(page["comments"])
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == [posted[4], *posted[:4]]


# -- spam checker -------------------------------------------------------------------------


class FakeAkismet(http.server.BaseHTTPRequestHandler):
    """Stands in for rest.akismet.com: spam when the text says so."""

    received: list[dict[str, str]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        FakeAkismet.received.append({"path": self.path, **fields})
        answer = b"true" if "viagra" in fields.get("comment_content", "") else b"false"
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def akismet():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeAkismet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeAkismet.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_akismet_is_asked_only_with_a_key_and_its_spam_is_hidden(site, akismet):
    client, _ = site(moderation__akismet_url=akismet)
    client.post_comment(text="buy viagra")
    assert FakeAkismet.received == []  # no key: no third-party call

    client, _ = site(moderation__akismet_url=akismet, moderation__akismet_key="k123")
    spam = client.post_comment(text="cheap viagra", author="V", email="v@example.com")
    ham = client.post_comment(text="lovely post")
    assert status_of(spam.json["comment"]["id"]) == Status.SPAM
    assert spam.json["comment"]["status"] == "pending"
    assert ham.json["comment"]["status"] == "approved"
    first = FakeAkismet.received[0]
    assert first["path"] == "/1.1/comment-check"
    assert first["api_key"] == "k123"
    assert first["comment_author_email"] == "v@example.com"
    assert first["user_ip"] == "127.0.0.1"
    assert first["permalink"].endswith("/post/")


def test_an_unreachable_akismet_lets_comments_through(site):
    client, _ = site(moderation__akismet_url="http://127.0.0.1:9", moderation__akismet_key="k123")
    res = client.post_comment(text="buy viagra")
    assert res.json["comment"]["status"] == "approved"
