"""GET /metrics over real HTTP: the exposition parses, counts go up by exactly the requests
made, with bounded route labels; access needs an allowed network or the token; StatsD."""

from __future__ import annotations

import re
import socket
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from commentd.services import metrics, outbox
from commentd.services.audit import Actor
from commentd.services.fediverse.delivery import Deliverer
from commentd.services.moderation import ModerationService
from commentd.storage.database import DatabaseUnavailable, connection, write_transaction
from commentd.storage.models import Comment

TOKEN = "t" * 24
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    """A small Prometheus text-format parser that fails on any line it does not expect."""
    assert text.endswith("\n")
    samples: Samples = {}
    typed: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram")
            typed[name] = kind
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, _, labels, value = match.groups()
        pairs = frozenset(LABEL.findall(labels or ""))
        if labels:
            assert ",".join(f'{k}="{v}"' for k, v in LABEL.findall(labels)) == labels
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
        assert family in typed, f"{name} has no # TYPE line"
        key = (name, pairs)
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = float(value)
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client, **kwargs) -> Samples:
    res = client.get("/metrics", **kwargs)
    assert res.status == 200, res.raw[:300]
    assert res.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    return parse(res.raw.decode())


REQUESTS = "commentd_http_requests_total"
DURATION = "commentd_http_request_duration_seconds"


def test_requests_are_counted_by_route_rule_method_and_status(client):
    before = scrape(client)
    assert client.thread("/a/").status == 200
    assert client.thread("/b/?x=1").status == 200
    assert client.get("/api/comments/123").status == 404  # a route matched: its rule
    assert client.get("/no/such/page").status == 404  # no route: unmatched
    assert client.request("BREW", "/api/comments").status in (400, 405, 501)
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(REQUESTS, route="/api/comments", method="GET", status="200") == 2
    assert delta(REQUESTS, route="/api/comments/<comment_id>", method="GET", status="404") == 1
    assert delta(REQUESTS, route="unmatched", method="GET", status="404") == 1
    assert delta(REQUESTS, route="/metrics", method="GET", status="200") == 1  # the first scrape
    routes = {dict(labels)["route"] for name, labels in after if name == REQUESTS}
    assert not any("/a/" in r or "/b/" in r or "/no/" in r or "123" in r for r in routes)
    methods = {dict(labels)["method"] for name, labels in after if name == REQUESTS}
    assert "BREW" not in methods

    # the histogram: its count matches the requests, its buckets are cumulative up to +Inf
    labels = {"route": "/api/comments", "method": "GET"}
    assert delta(f"{DURATION}_count", **labels) == 2
    assert delta(f"{DURATION}_bucket", **labels, le="+Inf") == 2
    buckets = sorted(
        (float(dict(lab)["le"]), v)
        for (name, lab), v in after.items()
        if name == f"{DURATION}_bucket"
        and dict(lab)["route"] == "/api/comments"
        and dict(lab)["method"] == "GET"
    )
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)
    assert counts[-1] == value(after, f"{DURATION}_count", **labels)
    assert delta(f"{DURATION}_sum", **labels) > 0


def test_process_facts(client):
    samples = scrape(client)
    assert value(samples, "commentd_processes") >= 1
    assert 1.5e9 < value(samples, "commentd_process_start_time_seconds") <= time.time()
    assert value(samples, "commentd_process_resident_memory_bytes") > 1024 * 1024


@pytest.mark.parametrize(("mode", "status"), [("off", "approved"), ("all", "pending")])
def test_comments_created_by_status(serve, make_app, make_config, mode, status):
    client = serve(make_app(make_config(moderation__mode=mode)))
    name = "commentd_comments_created_total"
    before = value(scrape(client), name, status=status)
    assert client.post_comment(text="one").status == 201
    assert client.post_comment(text="two").status == 201
    assert client.post("/api/comments", {"text": ""}, query={"uri": "/x/"}).status == 400
    assert value(scrape(client), name, status=status) - before == 2


def test_votes_are_counted_by_value(client):
    cid = client.post_comment(text="vote on me").json["comment"]["id"]
    Comment.update(voter="someone-else").execute()
    before = scrape(client)
    assert client.post(f"/api/comments/{cid}/vote", {"value": 1}).status == 200
    assert client.post(f"/api/comments/{cid}/vote", {"value": -1}).status == 200
    assert client.post(f"/api/comments/{cid}/vote", {"value": 0}).status == 200
    assert client.post(f"/api/comments/{cid}/vote", {"value": 7}).status == 400
    after = scrape(client)
    for name in ("up", "down", "withdrawn"):
        got = value(after, "commentd_votes_total", value=name)
        assert got - value(before, "commentd_votes_total", value=name) == 1


def test_reports_are_counted_by_reason(client):
    cid = client.post_comment(text="report me").json["comment"]["id"]
    Comment.update(voter="someone-else").execute()
    before = scrape(client)
    reader = {"voter": "reader-metrics-0001"}
    assert client.post(f"/api/comments/{cid}/report", {"reason": "abuse"}).status == 202
    assert client.post(f"/api/comments/{cid}/report", {"reason": "spam", **reader}).status == 202
    assert client.post(f"/api/comments/{cid}/report", {"reason": "abuse"}).status == 409
    assert client.post(f"/api/comments/{cid}/report", {"reason": "rude"}).status == 400
    after = scrape(client)
    for reason in ("abuse", "spam"):
        got = value(after, "commentd_reports_total", reason=reason)
        assert got - value(before, "commentd_reports_total", reason=reason) == 1


def test_outbox_queue_is_read_at_scrape_time(client):
    with connection(), write_transaction():
        for n in range(3):
            outbox.enqueue("email", f"r{n}@example.com", {})
    samples = scrape(client)
    assert value(samples, "commentd_outbox_messages", status="pending") == 3
    assert value(samples, "commentd_outbox_messages", status="failed") == 0


def test_database_errors_are_counted_where_503_is_made(serve, make_app, config):
    app = make_app(config)

    @app.get("/test-database-down")
    def down() -> dict:
        raise DatabaseUnavailable("gone")

    client = serve(app)
    before = value(scrape(client), "commentd_database_errors_total")
    res = client.get("/test-database-down")
    assert (res.status, res.error_code) == (503, "unavailable")
    assert value(scrape(client), "commentd_database_errors_total") - before == 1


# Every family /metrics shows: (type, HELP, the label names of each of its samples), as
# prometheus-client's parser reads them (a counter's family name has no ``_total``).
FAMILIES = {
    "commentd_cache": (
        "counter",
        "Thread reads and counts by how they were answered: hit, miss or not_modified.",
        {"commentd_cache_total": ("result",)},
    ),
    "commentd_comments_created": (
        "counter",
        "New comments stored, by the status they got.",
        {"commentd_comments_created_total": ("status",)},
    ),
    "commentd_challenges": (
        "counter",
        "Proof-of-work challenges issued, and the solutions posted by result: solved, missing, "
        "invalid, expired, reused or too_easy.",
        {"commentd_challenges_total": ("result",)},
    ),
    "commentd_filter_decisions": (
        "counter",
        "New comments the spam filter scored, by decision: pass, hold, spam, or silent (not "
        "trained on enough of each class yet).",
        {"commentd_filter_decisions_total": ("decision",)},
    ),
    "commentd_filter_trained": (
        "counter",
        "Comments the spam filter was trained with, by class (spam, ham).",
        {"commentd_filter_trained_total": ("label",)},
    ),
    "commentd_screening_catches": (
        "counter",
        "New comments a screening signal caught, by signal and action (spam, hold, refuse).",
        {"commentd_screening_catches_total": ("action", "signal")},
    ),
    "commentd_webmentions": (
        "counter",
        "Webmentions by outcome: received (queued by POST /webmention), then verified, rejected "
        "or deleted.",
        {"commentd_webmentions_total": ("outcome",)},
    ),
    "commentd_fediverse_activities": (
        "counter",
        "Activities posted to the Fediverse inbox, by type (Follow, Create, Like...; other for the "
        "rest) and outcome: done, ignored (nothing of ours), refused (a bad signature, a banned "
        "instance, a refused comment).",
        {"commentd_fediverse_activities_total": ("outcome", "type")},
    ),
    "commentd_fediverse_deliveries": (
        "counter",
        "Deliveries of the account's activities to other servers' inboxes: delivered, retry "
        "(to be tried again) or refused (a 4xx answer: given up).",
        {"commentd_fediverse_deliveries_total": ("outcome",)},
    ),
    "commentd_database_errors": (
        "counter",
        "Requests that failed because the database did.",
        {"commentd_database_errors_total": ()},
    ),
    "commentd_http_request_duration_seconds": (
        "histogram",
        "Time to answer an HTTP request, by route rule and method.",
        {
            f"{DURATION}_bucket": ("le", "method", "route"),
            f"{DURATION}_count": ("method", "route"),
            f"{DURATION}_sum": ("method", "route"),
        },
    ),
    "commentd_http_requests": (
        "counter",
        "HTTP requests answered, by route rule (unmatched when none), method and status.",
        {REQUESTS: ("method", "route", "status")},
    ),
    "commentd_outbox_messages": (
        "gauge",
        "Outbox messages by status (pending ones are the queue), read from the database.",
        {"commentd_outbox_messages": ("status",)},
    ),
    "commentd_outbox": (
        "counter",
        "Mail and webhook deliveries, by kind and outcome (sent, failed).",
        {"commentd_outbox_total": ("kind", "outcome")},
    ),
    "commentd_votes": (
        "counter",
        "Votes cast, changed or withdrawn.",
        {"commentd_votes_total": ("value",)},
    ),
    "commentd_reports": (
        "counter",
        "Readers' reports of comments, by reason.",
        {"commentd_reports_total": ("reason",)},
    ),
    "commentd_processes": (
        "gauge",
        "Processes serving this site that report metrics.",
        {"commentd_processes": ()},
    ),
    "commentd_process_start_time_seconds": (
        "gauge",
        "When the oldest process started (Unix).",
        {"commentd_process_start_time_seconds": ()},
    ),
    "commentd_process_resident_memory_bytes": (
        "gauge",
        "Resident memory, all processes.",
        {"commentd_process_resident_memory_bytes": ()},
    ),
}


def test_every_series_keeps_its_name_type_help_and_labels(serve, make_app, make_config):
    """The exposition after a request of every kind, read by prometheus-client's parser."""
    config = make_config(
        spam__proof_of_work="suspicious",
        site__url="https://blog.example.com",
        fediverse__account="blog",
    )
    app = make_app(config)

    @app.get("/test-database-down")
    def down() -> dict:
        raise DatabaseUnavailable("gone")

    client = serve(app)
    assert client.thread("/pinned/").status == 200
    assert client.thread("/pinned/").status == 200  # from the response cache
    linked = client.post_comment("/pinned/", text="see https://spam.example/ now")
    assert linked.error_code == "challenge_required"  # links ask a new reader for proof of work
    cid = client.post_comment("/pinned/", text="counted", voter="r" * 32).json["comment"]["id"]
    # From a reader with an approved comment: no proof of work; the honeypot catches it.
    bot = client.post_comment(
        "/pinned/", text="a bot's", homepage="http://spam.example", voter="r" * 32
    ).json
    Comment.update(voter="someone-else").execute()
    assert client.post(f"/api/comments/{cid}/vote", {"value": 1}).status == 200
    assert client.post(f"/api/comments/{cid}/report", {"reason": "spam"}).status == 202
    with connection():  # the honeypot caught it; a moderator's approval trains the filter
        ModerationService(config).approve([bot["comment"]["id"]], Actor("cli", "tester"))
    assert client.get("/test-database-down").status == 503
    webmention = (
        "source=https%3A%2F%2Fother.example.org%2F&target=https%3A%2F%2Fblog.example.com%2Fp%2F"
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/webmention", body=webmention, headers=form).status == 202
    unsigned = {"Content-Type": "application/activity+json"}
    assert client.post("/ap/inbox", body=b"{}", headers=unsigned).status == 401
    with connection(), write_transaction():
        outbox.enqueue("email", "r@example.com", {})
        # an inbox at a loopback address: refused, never sent
        outbox.enqueue("activitypub", "http://127.0.0.1:9/inbox", {"activity": {}})
    with connection():
        handlers = {  # the Webmention has none here: a retry
            "email": lambda r, p: None,
            "activitypub": Deliverer(config),
        }
        assert outbox.Worker(config, handlers=handlers).run_once() == 3
    res = client.get("/metrics")
    assert res.status == 200
    found = {
        family.name: (
            family.type,
            family.documentation,
            {s.name: tuple(sorted(s.labels)) for s in family.samples},
        )
        for family in text_string_to_metric_families(res.raw.decode())
    }
    assert found == FAMILIES


# -- access -------------------------------------------------------------------------------


def forbidden(res) -> None:
    assert res.status == 403
    assert res.header("Content-Type").startswith("application/json")
    assert res.json["error"]["code"] == "metrics_forbidden"
    assert set(res.json) == {"error"}
    assert set(res.json["error"]) == {"code", "message"}


def test_open_to_localhost_by_default(client):
    scrape(client)


def test_refused_outside_the_allowed_networks(serve, make_app, make_config):
    client = serve(make_app(make_config(metrics__allowed_networks="10.0.0.0/8")))
    forbidden(client.get("/metrics"))


def test_the_client_address_behind_a_trusted_proxy_decides(serve, make_app, make_config):
    client = serve(make_app(make_config(server__trusted_proxies="127.0.0.1")))
    forbidden(client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}))
    scrape(client, headers={"X-Forwarded-For": "127.0.0.5"})


def test_the_token_opens_it_from_anywhere_and_a_wrong_one_is_refused(serve, make_app, make_config):
    client = serve(make_app(make_config(metrics__allowed_networks="", metrics__token=TOKEN)))
    forbidden(client.get("/metrics"))
    scrape(client, token=TOKEN)
    forbidden(client.get("/metrics", token=TOKEN + "x"))
    forbidden(client.get("/metrics", token="t" * 23))
    forbidden(client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}))


def test_a_wrong_token_is_refused_even_from_an_allowed_network(serve, make_app, make_config):
    client = serve(make_app(make_config(metrics__token=TOKEN)))
    forbidden(client.get("/metrics", token="wrong-token-wrong-token"))
    scrape(client)


# -- StatsD -------------------------------------------------------------------------------


@pytest.fixture
def statsd_server():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    metrics.push_to(None)
    sock.close()


def receive_until(sock: socket.socket, wanted: list[str], timeout: float = 10) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(any(re.fullmatch(w, line) for line in lines) for w in wanted):
            return lines
        try:
            lines += sock.recv(65536).decode().splitlines()
        except TimeoutError:
            continue
    raise AssertionError(f"not all of {wanted} received; got {lines}")


def test_statsd_receives_counters_and_timings(serve, make_app, make_config, statsd_server):
    port = statsd_server.getsockname()[1]
    client = serve(
        make_app(make_config(metrics__statsd=f"127.0.0.1:{port}", metrics__statsd_prefix="blog"))
    )
    assert client.post_comment(text="pushed").status == 201
    assert client.get("/nowhere").status == 404
    lines = receive_until(
        statsd_server,
        [
            r"blog\.requests\.201:1\|c",
            r"blog\.requests\.404:1\|c",
            r"blog\.comments_created\.approved:1\|c",
            r"blog\.request\.api\.comments:[0-9.]+\|ms",
            r"blog\.request\.unmatched:[0-9.]+\|ms",
        ],
    )
    assert all(line.startswith("blog.") for line in lines)


def test_an_unreachable_statsd_never_fails_a_request(serve, make_app, make_config, statsd_server):
    port = statsd_server.getsockname()[1]
    statsd_server.close()  # nothing listens: sends are refused or lost
    client = serve(make_app(make_config(metrics__statsd=f"127.0.0.1:{port}")))
    for _ in range(5):
        assert client.thread().status == 200
        time.sleep(0.05)
    client2 = serve(make_app(make_config(metrics__statsd="no-such-host.invalid:8125")))
    assert client2.thread().status == 200
