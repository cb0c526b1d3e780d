"""The access log over real HTTP: text, JSON lines or nothing; never a full client address,
an email or a query string."""

from __future__ import annotations

import json
import logging


def json_lines(err: str) -> list[dict]:
    entries = []
    for line in err.splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def test_json_lines_parse_and_hold_no_address_query_or_email(serve, make_app, make_config, capsys):
    client = serve(make_app(make_config(server__access_log="json")))
    capsys.readouterr()
    res = client.post(
        "/api/comments",
        {"text": "hi", "email": "ada@example.com", "author": "Ada"},
        query={"uri": "/post/", "token": "sekrit-token"},
    )
    assert res.status == 201
    cid = res.json["comment"]["id"]
    assert client.get(f"/api/comments/{cid}", query={"t": "sekrit-token"}).status == 200
    assert client.get("/missing").status == 404
    err = capsys.readouterr().err
    entries = json_lines(err)
    assert len(entries) == 3, err
    created, read, missing = entries
    assert set(created) == {
        "time",
        "method",
        "route",
        "path",
        "status",
        "duration_ms",
        "bytes",
        "client",
    }
    assert created["time"].endswith("Z")
    assert (created["method"], created["route"], created["path"], created["status"]) == (
        "POST",
        "/api/comments",
        "/api/comments",
        201,
    )
    assert created["bytes"] == len(res.raw)
    assert created["duration_ms"] >= 0
    assert created["client"] == "127.0.0.0"
    assert (read["route"], read["path"]) == ("/api/comments/<comment_id>", f"/api/comments/{cid}")
    assert (missing["route"], missing["status"]) == ("unmatched", 404)
    for forbidden in ("127.0.0.1", "sekrit", "ada@example.com", "Ada", "?"):
        assert forbidden not in err


def test_json_log_uses_the_network_of_the_forwarded_client(serve, make_app, make_config, capsys):
    config = make_config(server__access_log="json", server__trusted_proxies="127.0.0.1")
    client = serve(make_app(config))
    capsys.readouterr()
    v4 = client.get("/api/config", headers={"X-Forwarded-For": "203.0.113.77"})
    v6 = client.get("/api/config", headers={"X-Forwarded-For": "2001:db8:1234:5678::9"})
    assert v4.status == v6.status == 200
    err = capsys.readouterr().err
    assert [e["client"] for e in json_lines(err)] == ["203.0.113.0", "2001:db8:1234::"]
    assert "203.0.113.77" not in err
    assert "5678" not in err


def test_text_lines(serve, make_app, make_config, caplog):
    client = serve(make_app(make_config(server__access_log="text")))
    with caplog.at_level(logging.INFO, logger="commentd.access"):
        assert client.thread("/post/", sort="newest").status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "commentd.access"]
    assert len(lines) == 1
    method, path, status, size, took, network = lines[0].split(" ")
    assert (method, path, status, network) == ("GET", "/api/comments", "200", "127.0.0.0")
    assert int(size) > 0
    assert took.endswith("ms")


def test_off_logs_nothing(serve, make_app, make_config, caplog, capsys):
    client = serve(make_app(make_config(server__access_log="off")))
    capsys.readouterr()
    with caplog.at_level(logging.DEBUG, logger="commentd.access"):
        assert client.thread().status == 200
        assert client.get("/missing").status == 404
    assert not [r for r in caplog.records if r.name == "commentd.access"]
    assert capsys.readouterr().err == ""
