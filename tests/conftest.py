"""Fixtures built on the app factory: config, app, a live server and an HTTP client.

Every test gets its own database: a fresh SQLite file under ``tmp_path``, or, when
``COMMENTD_TEST_POSTGRES`` names a server (``postgresql://...``), an emptied PostgreSQL
schema. The API tests talk real HTTP to a real waitress server on 127.0.0.1, started once
per session, in front of whichever app the current test built.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable, Iterator
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlencode

import pytest

from commentd.app import create_app
from commentd.config import Config, load_config
from commentd.storage.database import database_proxy

POSTGRES_URL = os.environ.get("COMMENTD_TEST_POSTGRES", "")
DEFAULT_ORIGIN = "https://blog.example.com"


def reset_postgres(url: str) -> None:
    """Empty the PostgreSQL test database."""
    import psycopg2

    dsn = url.replace("postgresql+pool://", "postgresql://", 1)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")


@pytest.fixture
def database_url(tmp_path) -> str:
    if POSTGRES_URL:
        reset_postgres(POSTGRES_URL)
        return POSTGRES_URL
    return f"sqlite:///{tmp_path / 'commentd.db'}"


@pytest.fixture
def make_config(database_url) -> Callable[..., Config]:
    """Build a config from ``section.key`` overrides, on this test's database."""

    def make(**overrides: Any) -> Config:
        values = {
            "database.url": database_url,
            "server.allowed_origins": DEFAULT_ORIGIN,
            "security.secret": "s" * 40,
            # every test posts from 127.0.0.1: limits are on only where a test sets them
            "ratelimit.comments_per_minute": 0,
            "ratelimit.comments_per_hour": 0,
            "ratelimit.votes_per_minute": 0,
            "ratelimit.reports_per_hour": 0,
            # tests post the moment a form is shown: the bot timer is on where a test sets it
            "moderation.min_submit_time": 0,
            "spam.proof_of_work": "off",  # tests/web/test_pow.py turns it on
        }
        values.update({key.replace("__", "."): value for key, value in overrides.items()})
        return load_config(None, environ={}, overrides=values)

    return make


@pytest.fixture
def config(make_config) -> Config:
    return make_config()


@pytest.fixture
def make_app() -> Iterator[Callable[[Config], Any]]:
    built = []

    def make(config: Config):
        app = create_app(config)
        built.append(app)
        return app

    yield make
    if not database_proxy.is_closed():
        database_proxy.close()
    close_all = getattr(database_proxy.obj, "close_all", None)
    if close_all is not None:  # pooled connections: close the idle ones too
        close_all()


@pytest.fixture
def app(make_app, config):
    return make_app(config)


class SwappableApp:
    """A WSGI app that forwards to whichever app the current test installed."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live_server() -> Iterator[tuple[SwappableApp, int]]:
    from waitress import wasyncore

    from commentd.web.server import make_server

    target = SwappableApp()
    server = make_server(target, host="127.0.0.1", port=0, threads=4, max_body_size=65536)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield target, port
    server.task_dispatcher.shutdown()
    # Closed from the loop's own thread, as tests/web/test_channel.py does: closing the sockets
    # from here raced the loop's select() (EBADF in its thread, an error at the session's end).
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(10)


@dataclasses.dataclass
class Response:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def error_code(self) -> str | None:
        return self.json["error"]["code"]


class Client:
    """A small HTTP client for tests: JSON in, ``Response`` out."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: dict | list | None = None,
        token: str | None = None,
    ) -> Response:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if query is not None:
            path = f"{path}?{urlencode(query, doseq=True)}"
        conn = HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            return Response(res.status, {k.lower(): v for k, v in res.getheaders()}, res.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def put(self, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    # Shortcuts for the API's common calls.

    def post_comment(self, uri: str = "/post/", **fields: Any) -> Response:
        self.posted = getattr(self, "posted", 0) + 1
        fields.setdefault("text", f"Hello #{self.posted}")
        return self.post("/api/comments", fields, query={"uri": uri})

    def thread(self, uri: str = "/post/", **params: Any) -> Response:
        return self.get("/api/comments", query={"uri": uri, **params})


@pytest.fixture
def serve(live_server) -> Callable[[Any], Client]:
    """Put an app behind the live server and return a client for it."""
    target, port = live_server

    def use(app) -> Client:
        target.app = app
        return Client(port)

    return use


@pytest.fixture
def client(serve, app) -> Client:
    return serve(app)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skip is a failure: every service the tests need must be there."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI: {report.longrepr}"
