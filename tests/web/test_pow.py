"""Proof of work over real HTTP: challenges from GET /api/challenge and from 403
challenge_required, solved by the independent ``altcha`` package's solver, posted with the
comment; missing, reused, expired, forged and too easy solutions refused; who pays nothing."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from typing import Any

import altcha as independent
import jsonschema_rs
import pytest

from commentd.services import altcha, metrics
from commentd.services.keys import Keys
from commentd.storage.models import utcnow
from tests.test_docs_api import OPENAPI

SECRET = "s" * 40  # tests/conftest.py's security.secret
KEY = Keys.from_secret(SECRET).challenge
EASY = 1000  # a test's challenges take a few milliseconds in Python
READER = "reader-0123456789abcdef"
LINK = "See https://example.com/offer for more."


def solve(challenge: dict[str, Any]) -> str:
    """The base64 solution ALTCHA's own Python library finds for ``challenge``."""
    found = independent.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    assert found is not None
    return independent.PayloadV1(
        challenge["algorithm"],
        challenge["challenge"],
        found.number,
        challenge["salt"],
        challenge["signature"],
    ).to_base64()


def counted(result: str) -> float:
    return metrics.CHALLENGES.value({"result": result})


class Site:
    """An API client posting from any address (through a trusted proxy), as any reader."""

    def __init__(self, client) -> None:
        self.client = client
        self.posted = 0

    def challenge(self, reader: str | None = READER, address: str = "203.0.113.5"):
        query = {"voter": reader} if reader else {}
        return self.client.get("/api/challenge", query=query, headers={"X-Forwarded-For": address})

    def post(self, altcha_: str | None = None, address: str = "203.0.113.5", **fields: Any):
        self.posted += 1
        body = {"text": f"Comment number {self.posted}.", "voter": READER, **fields}
        if altcha_ is not None:
            body["altcha"] = altcha_
        return self.client.post(
            "/api/comments", body, query={"uri": "/post/"}, headers={"X-Forwarded-For": address}
        )


@pytest.fixture
def site(serve, make_app, make_config):
    def build(mode: str = "always", **settings: Any) -> Site:
        config = make_config(
            server__trusted_proxies="127.0.0.1",
            spam__proof_of_work=mode,
            spam__pow_max_number=EASY,
            spam__pow_factor=2,
            **settings,
        )
        return Site(serve(make_app(config)))

    return build


def refusal(res) -> dict[str, Any]:
    """A 403 challenge_required's error, after checking its shape."""
    assert res.status == 403, res.raw
    error = res.json["error"]
    assert set(error) == {"code", "message", "field", "reason", "challenge"}
    assert error["code"] == "challenge_required"
    assert error["field"] == "altcha"
    assert set(error["challenge"]) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    documented(res.json, "Error")
    return error


def documented(body: Any, schema: str) -> None:
    """``body`` is what commentd/openapi.json says ``schema`` is."""
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    jsonschema_rs.validate({**spec, "$ref": f"#/components/schemas/{schema}"}, body)


def test_a_challenge_from_the_api_solved_by_altcha_posts_a_comment(site):
    s = site("always")
    issued, solved = counted("issued"), counted("solved")
    res = s.challenge()
    assert res.status == 200
    assert res.header("Cache-Control") == "no-store"
    assert res.json["required"] is True
    documented(res.json, "Challenge")
    challenge = res.json["challenge"]
    assert challenge["algorithm"] == "SHA-256"
    assert challenge["maxnumber"] == EASY * 2  # always: the new network is one signal
    assert "?expires=" in challenge["salt"]
    posted = s.post(solve(challenge))
    assert posted.status == 201, posted.raw
    assert posted.json["comment"]["status"] == "approved"
    assert (counted("issued"), counted("solved")) == (issued + 1, solved + 1)


def test_commentd_challenges_and_solutions_pass_altchas_own_verifier(site):
    challenge = site("always").challenge().json["challenge"]
    ok, problem = independent.verify_solution_v1(solve(challenge), KEY)
    assert ok
    assert problem is None


def test_a_post_without_a_solution_gets_one_to_solve_and_the_retry_posts(site):
    s = site("always")
    missing = counted("missing")
    error = refusal(s.post())
    assert error["reason"] == "missing"
    assert counted("missing") == missing + 1
    res = s.post(solve(error["challenge"]))
    assert res.status == 201, res.raw


def test_a_solution_is_good_for_one_comment_only(site):
    s = site("always")
    solution = solve(s.challenge().json["challenge"])
    assert s.post(solution).status == 201
    error = refusal(s.post(solution, text="Another comment, the same proof."))
    assert error["reason"] == "reused"
    assert "already used" in error["message"]


def test_a_refused_comment_does_not_spend_its_solution(site):
    s = site("always")
    solution = solve(s.challenge().json["challenge"])
    assert s.post(solution, text="").status == 400  # empty text: refused before any write
    assert s.post(solve(s.challenge().json["challenge"]), text="Said once.").status == 201
    # A double post is refused in the very transaction that would spend the solution.
    assert s.post(solution, text="Said once.").status == 409
    assert s.post(solution).status == 201


def test_an_expired_solution_is_refused_with_a_fresh_challenge(site):
    s = site("always")
    old = altcha.issue(KEY, EASY * 2, utcnow() - dt.timedelta(seconds=1)).to_dict()
    error = refusal(s.post(solve(old)))
    assert error["reason"] == "expired"
    assert error["challenge"]["salt"] != old["salt"]
    assert s.post(solve(error["challenge"])).status == 201


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c: solve(altcha.issue(b"k" * 32, EASY, _later()).to_dict()), id="key"),
        pytest.param(lambda c: _edit(solve(c), signature="0" * 64), id="signature"),
        pytest.param(lambda c: _edit(solve(c), number=-1), id="number"),
        pytest.param(
            lambda c: _edit(solve(c), salt=c["salt"].replace("&maxnumber=", "&x=")), id="salt"
        ),
        pytest.param(lambda c: _edit(solve(c), algorithm="SHA-1"), id="algorithm"),
        pytest.param(lambda c: "not base64 at all!", id="garbage"),
        pytest.param(lambda c: base64.b64encode(b"[1, 2]").decode(), id="not-an-object"),
    ],
)
def test_a_forged_or_malformed_solution_is_refused(site, forge):
    s = site("always")
    invalid = counted("invalid")
    error = refusal(s.post(forge(s.challenge().json["challenge"])))
    assert error["reason"] == "invalid"
    assert counted("invalid") == invalid + 1


@pytest.mark.parametrize("mode", ["always", "off"])
@pytest.mark.parametrize(
    ("value", "code"),
    [(12345, "invalid_type"), (["x"], "invalid_type"), ("QUJD" * 257, "too_long")],
)
def test_an_altcha_that_is_not_a_short_string_is_refused_as_input(site, mode, value, code):
    res = site(mode).post(value)
    assert res.status == 400
    assert (res.json["error"]["code"], res.json["error"]["field"]) == (code, "altcha")


@pytest.mark.parametrize("mode", ["always", "suspicious", "off"])
def test_a_challenge_for_a_reader_id_that_is_not_one_is_refused(site, mode):
    res = site(mode).challenge(reader="not a reader id \u00d7")
    assert res.status == 400
    assert (res.json["error"]["code"], res.json["error"]["field"]) == ("invalid_value", "voter")


def _later() -> dt.datetime:
    return utcnow() + dt.timedelta(minutes=5)


def _edit(solution: str, **changes: Any) -> str:
    fields = json.loads(base64.b64decode(solution))
    fields.update(changes)
    return base64.b64encode(json.dumps(fields).encode()).decode()


def test_a_solution_too_easy_for_the_comment_gets_a_harder_challenge(site):
    s = site("always")
    easy = s.challenge().json["challenge"]  # no link known yet: 2,000
    error = refusal(s.post(solve(easy), text=LINK))  # a link and a new network: 4,000
    assert error["reason"] == "too_easy"
    assert error["challenge"]["maxnumber"] == EASY * 4
    assert s.post(solve(error["challenge"]), text=LINK).status == 201


def test_two_posts_racing_with_one_solution_store_one_comment(site):
    s = site("always")
    solution = solve(s.challenge().json["challenge"])
    results: list[int] = []
    start = threading.Barrier(4)

    def race(n: int) -> None:
        start.wait()
        results.append(s.post(solution, text=f"Racing comment {n}.").status)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 403, 403, 403]


# -- who is asked ---------------------------------------------------------------------------


def test_suspicious_a_clean_first_comment_pays_nothing(site):
    s = site("suspicious")
    res = s.challenge()
    assert res.json == {"required": False, "challenge": None}
    assert s.post().status == 201


def test_suspicious_links_ask_for_work_from_a_new_reader(site):
    s = site("suspicious")
    error = refusal(s.post(text=LINK))
    assert error["reason"] == "missing"
    assert error["challenge"]["maxnumber"] == EASY * 2  # links, on a new network
    assert s.post(solve(error["challenge"]), text=LINK).status == 201


def test_suspicious_a_reader_with_an_approved_comment_pays_nothing(site):
    s = site("suspicious")
    assert s.post().status == 201  # clean: approved, no work
    assert s.challenge().json["required"] is False
    res = s.post(text=LINK, address="198.51.100.7")  # links, from another network
    assert res.status == 201, res.raw


def test_suspicious_an_email_with_an_approved_comment_pays_nothing(site):
    s = site("suspicious")
    assert s.post(email="ada@example.com").status == 201
    res = s.post(text=LINK, voter="another-reader-0123456", email="ada@example.com")
    assert res.status == 201, res.raw


def test_suspicious_a_burst_from_one_network_asks_for_work(site):
    s = site("suspicious", spam__burst_comments=3)
    for n in range(3):
        assert s.post(voter=f"reader-number-{n}-000000", address="192.0.2.1").status == 201
    error = refusal(s.post(voter="reader-number-3-000000", address="192.0.2.77"))
    assert error["challenge"]["maxnumber"] == EASY  # burst; the network has approved ones
    assert s.challenge(reader="reader-number-4-000000", address="192.0.2.9").json["required"]


def test_suspicious_a_honeypot_asks_for_work(site):
    s = site("suspicious")
    error = refusal(s.post(homepage="http://spam.example"))
    assert error["challenge"]["maxnumber"] == EASY * 2  # a trap sprung, on a new network


def test_always_asks_a_trusted_reader_too(site):
    s = site("always")
    assert s.post(solve(s.challenge().json["challenge"])).status == 201
    res = s.challenge()
    assert res.json["required"] is True
    assert res.json["challenge"]["maxnumber"] == EASY  # trusted: no signal counts
    assert refusal(s.post())["reason"] == "missing"


def test_off_never_asks(site):
    s = site("off")
    assert s.challenge().json == {"required": False, "challenge": None}
    assert s.client.get("/api/config").json["proof_of_work"] == "off"
    res = s.post(text=LINK, homepage="bot")
    assert res.status == 201, res.raw


def test_config_tells_the_embed_the_mode(site):
    assert site("suspicious").client.get("/api/config").json["proof_of_work"] == "suspicious"


def test_the_form_without_javascript_is_held_when_work_would_be_asked(site):
    s = site("always")
    form = {"uri": "/post/", "text": "From the plain form."}
    res = s.client.request(
        "POST",
        "/html/comments",
        body="&".join(f"{k}={v}" for k, v in form.items()).replace(" ", "+"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status == 200, res.raw  # not 403: a page saying it awaits moderation
    assert s.client.thread().json["thread"]["total"] == 0  # held for a moderator
    site_off = site("off")
    res = site_off.client.request(
        "POST",
        "/html/comments",
        body="uri=/post/&text=Plain+form+with+work+off.",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status == 303
