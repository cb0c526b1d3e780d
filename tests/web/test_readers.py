"""Votes and reports per reader, over real HTTP: the embed's reader id (``voter``), the
per-network cap, votes from before reader ids, readers' reports and what moderators see."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from commentd.services import outbox
from commentd.services.clients import Client
from commentd.services.keys import Keys
from commentd.storage.database import connection
from commentd.storage.models import AuditEntry, Comment, OutboxMessage, Report, Status, Thread, Vote
from tests.services.test_mail import mailbox  # noqa: F401 - a fixture
from tests.web.test_admin import admin_site, signed_in  # noqa: F401 - fixtures

TIMES = "\u00d7"  # the queue's multiplication sign

READER_A = "reader-a-0123456789"
READER_B = "reader-b-0123456789"
AUTHOR = "author-reader-000000"
HOME = "198.51.100.7"  # one household's address: its readers share it
HOME_NEIGHBOUR = "198.51.100.99"  # the same /24
ELSEWHERE = "203.0.113.5"


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


class Readers:
    """An API client whose requests come, through a trusted proxy, from any address."""

    def __init__(self, client, config) -> None:
        self.client = client
        self.config = config

    def post(self, address: str = ELSEWHERE, reader: str | None = AUTHOR, **fields: Any):
        body = {"text": fields.pop("text", "a comment"), **fields}
        if reader is not None:
            body["voter"] = reader
        return self.client.post("/api/comments", body, query={"uri": "/post/"}, headers=at(address))

    def comment(self, **kwargs: Any) -> int:
        res = self.post(**kwargs)
        assert res.status == 201, res.raw
        return res.json["comment"]["id"]

    def vote(self, cid: int, value: int, address: str = HOME, reader: str | None = None, **kw):
        body: dict[str, Any] = {"value": value}
        if reader is not None:
            body["voter"] = reader
        return self.client.post(f"/api/comments/{cid}/vote", body, headers=at(address), **kw)

    def report(self, cid: int, reason="spam", address: str = HOME, reader: str | None = None, **kw):
        body: dict[str, Any] = {"reason": reason}
        if reader is not None:
            body["voter"] = reader
        return self.client.post(f"/api/comments/{cid}/report", body, headers=at(address), **kw)

    def shown(self, cid: int) -> dict | None:
        found = [c for c in self.client.thread().json["comments"] if c["id"] == cid]
        return found[0] if found else None

    def address_voter(self, address: str) -> str:
        return Client(address).voter(Keys.from_secret(self.config.security.secret).voter)


@pytest.fixture
def readers(serve, make_app, make_config):
    def build(**settings: Any) -> Readers:
        config = make_config(server__trusted_proxies="127.0.0.1", **settings)
        return Readers(serve(make_app(config)), config)

    return build


def tallies(res) -> tuple[int, int, int]:
    assert res.status == 200, res.raw
    return res.json["likes"], res.json["dislikes"], res.json["vote"]


def error(res) -> tuple[int, str, str | None]:
    """A JSON error's status, code and field, after checking it has the one error shape."""
    assert res.header("Content-Type").startswith("application/json")
    assert set(res.json) == {"error"}
    assert set(res.json["error"]) <= {"code", "message", "field"}
    assert res.json["error"]["message"]
    return res.status, res.json["error"]["code"], res.json["error"].get("field")


# -- one vote per reader ------------------------------------------------------------------------


def test_two_readers_behind_one_address_each_have_a_vote(readers):
    r = readers()
    cid = r.comment()
    assert tallies(r.vote(cid, 1, reader=READER_A)) == (1, 0, 1)
    assert tallies(r.vote(cid, 1, reader=READER_B)) == (2, 0, 1)
    assert (r.shown(cid)["likes"], r.shown(cid)["dislikes"]) == (2, 0)
    assert r.vote(cid, 1, reader=READER_A).json["likes"] == 2  # still one each


def test_a_reader_changes_and_withdraws_their_own_vote(readers):
    r = readers()
    cid = r.comment()
    assert tallies(r.vote(cid, 1, reader=READER_A)) == (1, 0, 1)
    assert tallies(r.vote(cid, 1, reader=READER_A)) == (1, 0, 1)
    # from another address too: the vote is the reader's, not the address's
    assert tallies(r.vote(cid, -1, address=ELSEWHERE, reader=READER_A)) == (0, 1, -1)
    assert tallies(r.vote(cid, 0, reader=READER_A)) == (0, 0, 0)
    assert tallies(r.vote(cid, 0, reader=READER_A)) == (0, 0, 0)
    assert Vote.select().count() == 0


def test_the_response_keeps_its_shape(readers):
    r = readers()
    cid = r.comment()
    res = r.vote(cid, 1, reader=READER_A)
    assert res.json == {"id": cid, "likes": 1, "dislikes": 0, "vote": 1}


def test_a_reader_on_the_authors_address_may_vote(readers):
    r = readers()
    by_reader = r.comment(address=HOME, reader=AUTHOR)
    by_api_client = r.comment(address=HOME, reader=None, text="from a script")
    assert tallies(r.vote(by_reader, 1, address=HOME, reader=READER_A)) == (1, 0, 1)
    assert tallies(r.vote(by_api_client, 1, address=HOME, reader=READER_A)) == (1, 0, 1)
    # without a reader id the address still marks the author (API clients, as before)
    assert error(r.vote(by_api_client, 1, address=HOME)) == (403, "own_comment", None)


def test_the_author_with_their_reader_id_cannot_vote_even_without_token(readers):
    r = readers()
    created = r.post(address=HOME, reader=AUTHOR).json
    cid = created["comment"]["id"]
    assert error(r.vote(cid, 1, address=ELSEWHERE, reader=AUTHOR)) == (403, "own_comment", None)
    # the token proves it too, whatever reader id or address comes with it
    res = r.vote(cid, 1, address=ELSEWHERE, reader=READER_A, token=created["token"])
    assert error(res) == (403, "own_comment", None)
    assert Vote.select().count() == 0


def test_the_cap_on_votes_from_one_network(readers):
    r = readers(ratelimit__votes_per_network=2)
    cid = r.comment()
    assert tallies(r.vote(cid, 1, reader=READER_A)) == (1, 0, 1)
    assert tallies(r.vote(cid, -1, address=HOME_NEIGHBOUR, reader=READER_B)) == (1, 1, -1)
    third = r.vote(cid, 1, reader="reader-c-0123456789")
    assert error(third) == (403, "vote_limit", None)
    assert (
        third.json["error"]["message"] == "Too many votes on this comment came from your network."
    )
    assert error(r.vote(cid, 1)) == (403, "vote_limit", None)  # an API client there too
    # changing or withdrawing a vote already cast is never refused
    assert tallies(r.vote(cid, 1, reader=READER_B)) == (2, 0, 1)
    assert tallies(r.vote(cid, 0, reader=READER_A)) == (1, 0, 0)
    # which makes room for one more
    assert tallies(r.vote(cid, 1, reader="reader-c-0123456789")) == (2, 0, 1)
    # another network has its own allowance, and another comment its own count
    assert tallies(r.vote(cid, 1, address=ELSEWHERE, reader="reader-d-0123456789")) == (3, 0, 1)
    other = r.comment(text="another")
    assert tallies(r.vote(other, 1, reader="reader-e-0123456789")) == (1, 0, 1)


def test_no_cap_with_zero(readers):
    r = readers(ratelimit__votes_per_network=0)
    cid = r.comment()
    for n in range(12):
        assert r.vote(cid, 1, reader=f"reader-{n:02}-0123456789").status == 200
    assert r.shown(cid)["likes"] == 12


def test_the_per_minute_limit_still_holds(readers):
    r = readers(ratelimit__votes_per_minute=2)
    cid = r.comment()
    assert r.vote(cid, 1, reader=READER_A).status == 200
    assert r.vote(cid, 1, reader=READER_B).status == 200
    res = r.vote(cid, 1, reader="reader-c-0123456789")
    assert error(res) == (429, "rate_limited", None)
    assert int(res.header("Retry-After")) >= 1


@pytest.mark.parametrize(
    "voter",
    [
        "short",
        "x" * 65,
        "a" * 15,
        "spaces in it here",
        "ünïcødé-0123456789",
        "a" * 16 + "\n",
        "",
        7,
        True,
        ["reader-a-0123456789"],
        {"id": "x"},
    ],
)
def test_a_bad_reader_id_is_refused_everywhere(readers, voter):
    r = readers()
    cid = r.comment()
    bodies = {
        f"/api/comments/{cid}/vote": {"value": 1, "voter": voter},
        f"/api/comments/{cid}/report": {"reason": "spam", "voter": voter},
    }
    for path, body in bodies.items():
        res = r.client.post(path, body, headers=at(HOME))
        assert error(res) == (400, "invalid_value", "voter"), path
    res = r.client.post("/api/comments", {"text": "hi", "voter": voter}, query={"uri": "/post/"})
    assert error(res) == (400, "invalid_value", "voter")
    assert Vote.select().count() == Report.select().count() == 0
    assert Comment.select().count() == 1


@pytest.mark.parametrize("voter", ["a" * 16, "Z" * 64, "abc_DEF-123_456-7"])
def test_reader_ids_of_every_allowed_form(readers, voter):
    r = readers()
    cid = r.comment()
    assert r.vote(cid, 1, reader=voter).status == 200


def test_null_is_no_reader_id(readers):
    r = readers()
    cid = r.comment(address=HOME, reader=None)
    res = r.client.post(f"/api/comments/{cid}/vote", {"value": 1, "voter": None}, headers=at(HOME))
    assert error(res) == (403, "own_comment", None)  # judged by the address, as without one


def test_the_reader_id_is_stored_only_as_a_keyed_hash(readers):
    r = readers()
    cid = r.comment(reader=AUTHOR)
    r.vote(cid, 1, reader=READER_A)
    r.report(cid, reader=READER_B)
    comment = Comment.get_by_id(cid)
    assert re.fullmatch("[0-9a-f]{32}", comment.reader)
    vote, report = Vote.get(), Report.get()
    assert re.fullmatch("[0-9a-f]{32}", vote.voter)
    assert re.fullmatch("[0-9a-f]{32}", vote.network)
    assert vote.voter != r.address_voter(HOME) != report.reporter
    stored = " ".join(
        str(value)
        for model in (Comment, Vote, Report, AuditEntry, OutboxMessage)
        for row in model.select().dicts()
        for value in row.values()
    )
    for raw in (AUTHOR, READER_A, READER_B):
        assert raw not in stored


def test_an_idempotency_key_sent_with_a_reader_id_is_that_readers(readers):
    r = readers()
    key = {"Idempotency-Key": "retry-me-1"}
    first = r.client.post(
        "/api/comments",
        {"text": "once", "voter": AUTHOR},
        query={"uri": "/post/"},
        headers={**at(HOME), **key},
    )
    assert first.status == 201
    # the reader's retry from a new address is the same request
    again = r.client.post(
        "/api/comments",
        {"text": "once", "voter": AUTHOR},
        query={"uri": "/post/"},
        headers={**at(ELSEWHERE), **key},
    )
    assert (again.status, again.header("Idempotent-Replayed")) == (201, "true")
    assert again.json["comment"]["id"] == first.json["comment"]["id"]
    # another reader on the same address, with the same key, is another request
    other = r.client.post(
        "/api/comments",
        {"text": "mine", "voter": READER_A},
        query={"uri": "/post/"},
        headers={**at(HOME), **key},
    )
    assert other.status == 201
    assert other.header("Idempotent-Replayed") is None
    assert Comment.select().count() == 2


# -- votes from before reader ids -------------------------------------------------------------


def legacy_vote(r: Readers, cid: int, address: str, value: int) -> None:
    """A vote as stored before reader ids: keyed by address, no network; tallies to match."""
    Vote.create(comment=cid, voter=r.address_voter(address), value=value, network=None)
    likes = Vote.select().where((Vote.comment == cid) & (Vote.value == 1)).count()
    dislikes = Vote.select().where((Vote.comment == cid) & (Vote.value == -1)).count()
    Comment.update(likes=likes, dislikes=dislikes).where(Comment.id == cid).execute()


def test_a_reader_takes_over_the_vote_their_address_cast_before(readers):
    r = readers()
    cid = r.comment()
    legacy_vote(r, cid, HOME, 1)
    legacy_vote(r, cid, ELSEWHERE, 1)
    assert r.shown(cid)["likes"] == 2
    # the reader at HOME likes again: still two likes, one of them now the reader's
    assert tallies(r.vote(cid, 1, reader=READER_A)) == (2, 0, 1)
    home_votes = Vote.select().where(Vote.voter == r.address_voter(HOME))
    assert home_votes.count() == 0
    assert Vote.select().where(Vote.network.is_null()).count() == 1  # ELSEWHERE's stays
    # a second reader at HOME has nothing to take over: a vote of its own
    assert tallies(r.vote(cid, 1, reader=READER_B)) == (3, 0, 1)
    # and the reader's vote is theirs to change
    assert tallies(r.vote(cid, -1, reader=READER_A)) == (2, 1, -1)


def test_a_taken_over_vote_can_be_changed_or_withdrawn_at_once(readers):
    r = readers(ratelimit__votes_per_network=1)
    cid = r.comment()
    r.vote(cid, 1, address=HOME_NEIGHBOUR, reader=READER_B)  # the network's one vote
    legacy_vote(r, cid, HOME, 1)
    # taking over is changing one's own vote: the cap does not refuse it
    assert tallies(r.vote(cid, -1, reader=READER_A)) == (1, 1, -1)
    legacy_vote(r, cid, ELSEWHERE, -1)
    assert tallies(r.vote(cid, 0, address=ELSEWHERE, reader="reader-x-0123456789")) == (1, 1, 0)


def test_without_a_reader_id_a_legacy_vote_is_the_addresss_as_before(readers):
    r = readers()
    cid = r.comment()
    legacy_vote(r, cid, HOME, 1)
    assert tallies(r.vote(cid, -1)) == (0, 1, -1)
    assert Vote.select().count() == 1


# -- reports ----------------------------------------------------------------------------------


def test_a_report_is_accepted_once_per_reader(readers):
    r = readers(moderation__reports_to_hide=0)
    cid = r.comment()
    res = r.report(cid, "abuse", reader=READER_A)
    assert (res.status, res.json) == (202, {"id": cid, "reported": True})
    assert error(r.report(cid, "spam", reader=READER_A)) == (409, "already_reported", None)
    assert error(r.report(cid, address=ELSEWHERE, reader=READER_A))[1] == "already_reported"
    assert r.report(cid, "spam", reader=READER_B).status == 202  # the same address, another reader
    # without a reader id the address reports, once
    assert r.report(cid, "off_topic").status == 202
    assert error(r.report(cid, "other"))[:2] == (409, "already_reported")
    assert sorted(rep.reason for rep in Report.select()) == ["abuse", "off_topic", "spam"]


@pytest.mark.parametrize("reason", [None, "", "SPAM", "rude", 1, ["spam"], {"spam": True}])
def test_a_report_needs_one_of_the_reasons(readers, reason):
    r = readers()
    cid = r.comment()
    body = {} if reason is None else {"reason": reason}
    res = r.client.post(f"/api/comments/{cid}/report", body, headers=at(HOME))
    assert error(res) == (400, "invalid_value", "reason")


def test_only_approved_comments_can_be_reported(readers):
    r = readers(moderation__mode="all")
    held = r.comment()
    assert error(r.report(held, reader=READER_A)) == (404, "comment_not_found", None)
    assert error(r.report(987654, reader=READER_A)) == (404, "comment_not_found", None)
    assert error(r.report(0, reader=READER_A)) == (404, "comment_not_found", None)
    assert r.client.post("/api/comments/abc/report", {"reason": "spam"}).status == 404


def test_authors_cannot_report_their_own_comment(readers):
    r = readers()
    created = r.post(address=HOME, reader=AUTHOR).json
    cid = created["comment"]["id"]
    assert error(r.report(cid, address=ELSEWHERE, reader=AUTHOR)) == (403, "own_comment", None)
    res = r.report(cid, address=ELSEWHERE, reader=READER_A, token=created["token"])
    assert error(res) == (403, "own_comment", None)
    by_api_client = r.comment(address=HOME, reader=None, text="scripted")
    assert error(r.report(by_api_client, address=HOME)) == (403, "own_comment", None)
    assert r.report(by_api_client, address=HOME, reader=READER_A).status == 202
    assert Report.select().count() == 1


def test_reports_are_rate_limited_per_network(readers):
    r = readers(ratelimit__reports_per_hour=2)
    cids = [r.comment(text=f"comment {n}") for n in range(3)]
    assert r.report(cids[0], reader=READER_A).status == 202
    assert r.report(cids[1], reader=READER_B, address=HOME_NEIGHBOUR).status == 202
    res = r.report(cids[2], reader=READER_A)
    assert error(res) == (429, "rate_limited", None)
    assert 1 <= int(res.header("Retry-After")) <= 3600
    assert r.report(cids[2], address=ELSEWHERE, reader=READER_A).status == 202  # another network


def hide_at_two(readers, **settings: Any) -> tuple[Readers, int]:
    r = readers(moderation__reports_to_hide=2, **settings)
    cid = r.comment(author="Mallory", text="buy <b>now</b>")
    return r, cid


def test_enough_reports_hide_a_comment_until_a_moderator_looks(readers):
    r, cid = hide_at_two(readers)
    version = Thread.get().version
    assert r.report(cid, "spam", reader=READER_A).status == 202
    assert r.shown(cid) is not None
    assert r.client.get("/api/counts", query={"uri": "/post/"}).json["counts"]["/post/"] == 1
    assert r.report(cid, "abuse").status == 202  # HOME's address: the same answer
    assert r.shown(cid) is None
    assert r.client.get("/api/counts", query={"uri": "/post/"}).json["counts"]["/post/"] == 0
    assert Comment.get_by_id(cid).status == Status.PENDING
    assert Thread.get().version > version
    entry = AuditEntry.get(AuditEntry.action == "hide")
    assert (entry.actor, entry.target_type, entry.target_id) == ("system", "comment", cid)
    assert '"reports": 2' in entry.detail
    # hidden, it can be neither voted on nor reported further
    assert error(r.report(cid, reader=READER_B))[:2] == (404, "comment_not_found")
    assert error(r.vote(cid, 1, reader=READER_B))[:2] == (404, "comment_not_found")


def test_reports_to_hide_zero_never_hides(readers):
    r = readers(moderation__reports_to_hide=0)
    cid = r.comment()
    for n in range(5):
        assert r.report(cid, reader=f"reader-{n:02}-0123456789").status == 202
    assert r.shown(cid) is not None
    assert not AuditEntry.select().where(AuditEntry.action == "hide").exists()


def test_moderators_see_the_reports_and_approving_clears_them(signed_in):  # noqa: F811 - the fixture
    client, admin, config = signed_in  # moderation.mode = all: approve everything first
    r = Readers(client, config)
    cid = r.comment(author="<i>Mallory</i>")
    admin.post("/admin/comments", {"action": "approve", "ids": cid})
    spammy = r.comment(text="another one")
    admin.post("/admin/comments", {"action": "approve", "ids": spammy})
    r.report(cid, "spam", reader=READER_A)
    r.report(cid, "spam", reader=READER_B)
    r.report(cid, "abuse", reader="reader-c-0123456789")  # the third: hidden
    assert r.shown(cid) is None
    queue = admin.get("/admin").text  # the pending queue
    item = queue[queue.index(f'id="c{cid}"') :]
    item = item[: item.index("</li>")]
    assert f"Reported 3 times: spam {TIMES}2, abuse {TIMES}1" in unescape(item)
    assert "<i>Mallory</i>" not in item
    assert "&lt;i&gt;Mallory&lt;/i&gt;" in item  # escaped
    assert f'id="c{spammy}"' not in queue  # approved, and not reported
    assert "Reported 3 times" in unescape(admin.get(f"/admin/comments/{cid}").text)
    # approving publishes it again and clears its reports, audited
    page = admin.post("/admin/comments", {"action": "approve", "ids": cid})
    assert page.status == 303
    assert r.shown(cid) is not None
    with connection():
        assert Report.select().count() == 0
        cleared = AuditEntry.get(AuditEntry.action == "clear_reports")
        assert (cleared.actor, cleared.target_id, cleared.detail) == (
            "admin",
            cid,
            '{"reports": 3}',
        )
    # so the next report does not hide it again at once
    assert r.report(cid, "spam", reader="reader-d-0123456789").status == 202
    assert r.shown(cid) is not None
    assert f"Reported once: spam {TIMES}1" in unescape(admin.get("/admin?status=approved").text)


def test_approving_a_reported_comment_that_is_still_shown_dismisses_its_reports(signed_in):  # noqa: F811 - the fixture
    client, admin, config = signed_in
    r = Readers(client, config)
    cid = r.comment()
    admin.post("/admin/comments", {"action": "approve", "ids": cid})
    r.report(cid, "other", reader=READER_A)
    page = admin.post("/admin/comments", {"action": "approve", "ids": cid, "status": "approved"})
    assert "n=1" in page.header("Location")
    with connection():
        assert Report.select().count() == 0
        assert AuditEntry.select().where(AuditEntry.action == "clear_reports").count() == 1


def test_a_hidden_comment_mails_the_admin_and_calls_the_webhooks(readers, mailbox):  # noqa: F811
    r, cid = hide_at_two(
        readers,
        **mailbox.settings(),
        mail__admin="admin@blog.example.com",
        server__public_url="https://comments.example.com",
        webhooks__urls="https://hooks.example.com/commentd",
        webhooks__secret="w" * 20,
    )
    OutboxMessage.delete().execute()  # the mail and webhook about the new comment
    r.report(cid, "spam", reader=READER_A)
    assert OutboxMessage.select().count() == 0
    r.report(cid, "abuse", reader=READER_B)
    queued = {row.kind: outbox.payload_of(row) for row in OutboxMessage.select()}
    assert set(queued) == {"email", "webhook"}
    mail = queued["email"]
    assert mail["to"] == "admin@blog.example.com"
    assert mail["subject"] == "Comment by Mallory on /post/ hidden after 2 reports"
    assert "was hidden after 2 reports" in mail["text"]
    assert re.search(r"^Approve: https://comments\.example\.com/moderate/\S+$", mail["text"], re.M)
    hook = queued["webhook"]
    assert hook["event"] == "comment.hidden"
    assert (hook["body"]["comment"]["id"], hook["body"]["comment"]["status"]) == (cid, "pending")
