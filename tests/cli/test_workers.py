"""``commentd serve --workers N``: real processes on one socket and one database.

Which process served a request is read from /proc (the worker holding the server side of
the connection), so the API exposes nothing about processes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from commentd.config import load_config
from commentd.services import links
from commentd.services.site import open_site
from commentd.storage.database import connection
from commentd.storage.models import Comment, OutboxMessage, utcnow
from tests.net import free_port, wait_for
from tests.services.test_mail import Mailbox, mailbox  # noqa: F401 - a fixture

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc")

ADMIN = "admin@blog.example.com"
COMMAND = (sys.executable, "-m", "commentd", "serve")


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def ini(tmp_path, database_url):
    """Write a config file on this test's database; ``sections`` override the defaults."""

    def make(**sections: dict[str, object]) -> str:
        values: dict[str, dict[str, object]] = {
            "database": {"url": database_url},
            "security": {"secret": "s" * 40},
            "ratelimit": {"comments_per_minute": 0, "comments_per_hour": 0},
            "moderation": {"min_submit_time": 0},
            "spam": {"proof_of_work": "off"},  # a burst from one network would ask for work
        }
        for section, settings in sections.items():
            values.setdefault(section, {}).update(settings)
        lines = []
        for section, settings in values.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {value}" for key, value in settings.items()]
        path = tmp_path / "commentd.ini"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    return make


class Server:
    """A ``commentd serve`` subprocess; its stderr goes to a file (a pipe could fill up)."""

    def __init__(self, config: str, log: Path, *args: str) -> None:
        self.port = free_port()
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}
        with log.open("w") as err:
            self.process = subprocess.Popen(
                [*COMMAND, "--config", config, "--port", str(self.port), *args],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        wait_for(self.port, self.process)
        if "--workers" in args:  # the socket is bound before the workers are ready
            self.wait_log("workers serving")

    def wait_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            assert time.monotonic() < deadline, f"no {text!r} in {self.log.read_text()}"
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> set[int]:
        """The worker processes, from /proc."""
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.pid and fields[0] != "Z":
                found.add(int(entry.name))
        return found

    def wait_children(self, count: int, not_in: set[int] = frozenset(), timeout=30) -> set[int]:
        """Wait until exactly ``count`` workers run, none of them in ``not_in``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = self.children()
            if len(children) == count and not children & not_in:
                return children
            time.sleep(0.05)
        raise AssertionError(f"workers {self.children()}, wanted {count} not in {not_in}")

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        conn = HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            return send(conn, method, path, body, headers)
        finally:
            conn.close()

    def stop(self) -> str:
        """SIGTERM; the exit status must be 0. Returns the log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=90)
        text = self.log.read_text()
        assert self.process.returncode == 0, text
        return text


def send(conn: HTTPConnection, method: str, path: str, body=None, headers=None):
    headers = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    res = conn.getresponse()
    return res.status, res.read()


def server_side_inode(server_port: int, client_port: int) -> str:
    """The socket inode of the server end of the TCP connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, remote = fields[1], fields[2]
                if (
                    int(local.rsplit(":", 1)[1], 16) == server_port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port
                ):
                    return fields[9]
    raise AssertionError(f"no connection from port {client_port}")


def serving_pid(server: Server, conn: HTTPConnection) -> int:
    """The worker holding the (kept-alive) connection ``conn``."""
    target = f"socket:[{server_side_inode(server.port, conn.sock.getsockname()[1])}]"
    for pid in server.children():
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir():
            try:
                if os.readlink(fd) == target:
                    return pid
            except OSError:
                continue
    raise AssertionError("no worker holds the connection")


def one_connection_per_worker(server: Server) -> dict[int, HTTPConnection]:
    """Open kept-alive connections until each worker holds one."""
    pinned: dict[int, HTTPConnection] = {}
    spare = []
    workers = server.children()
    for _ in range(300):
        conn = HTTPConnection("127.0.0.1", server.port, timeout=30)
        assert send(conn, "GET", "/health")[0] == 200  # accepted and answered: kept alive
        pid = serving_pid(server, conn)
        if pid in pinned:
            spare.append(conn)
        else:
            pinned[pid] = conn
        if set(pinned) == workers:
            break
    for conn in spare:
        conn.close()
    assert set(pinned) == workers, f"connections reached only {set(pinned)} of {workers}"
    return pinned


@pytest.fixture
def servers(tmp_path):
    started: list[Server] = []

    def start(config: str, *args: str) -> Server:
        server = Server(config, tmp_path / f"serve-{len(started)}.log", *args)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)


def post_comment(conn_or_server, text: str, uri: str = "/workers/") -> int:
    path = f"/api/comments?uri={uri}"
    body = {"text": text, "author": "Ada"}
    if isinstance(conn_or_server, Server):
        return conn_or_server.request("POST", path, body)[0]
    return send(conn_or_server, "POST", path, body)[0]


# -- tests ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_answer_and_stop_cleanly_on_sigterm(servers, ini):
    server = servers(ini(), "--workers", "2")
    workers = server.wait_children(2)
    assert server.pid not in workers
    pinned = one_connection_per_worker(server)  # requests were answered by both processes
    assert len(pinned) == 2
    for conn in pinned.values():
        assert send(conn, "GET", "/api/comments?uri=/p/")[0] == 200
        conn.close()
    log = server.stop()
    assert "with 2 workers" in log
    assert "commentd stopped" in log
    assert "Traceback" not in log
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


@pytest.mark.slow
def test_rate_limits_hold_across_workers(servers, ini):
    server = servers(ini(ratelimit={"comments_per_minute": 4}), "--workers", "2")
    server.wait_children(2)
    pinned = list(one_connection_per_worker(server).values())
    # alternate between the two processes: the fourth comment is the last one let in
    statuses = [post_comment(pinned[i % 2], f"pinned {i}") for i in range(6)]
    assert statuses == [201] * 4 + [429] * 2
    for conn in pinned:
        conn.close()
    server.stop()


@pytest.mark.slow
def test_rate_limits_hold_under_many_concurrent_connections(servers, ini):
    path = ini(ratelimit={"comments_per_minute": 5})
    server = servers(path, "--workers", "2")
    server.wait_children(2)
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda i: post_comment(server, f"burst {i}"), range(30)))
    assert sorted(statuses) == [201] * 5 + [429] * 25
    server.stop()
    open_site(load_config(path, environ={}))
    with connection():
        assert Comment.select().count() == 5


@pytest.mark.slow
def test_queued_mail_is_sent_exactly_once(servers, ini, mailbox):  # noqa: F811
    path = ini(
        mail={
            "host": "127.0.0.1",
            "port": mailbox.port,
            "security": "none",
            "sender": "comments@blog.example.com",
            "admin": ADMIN,
        }
    )
    server = servers(path, "--workers", "2")
    server.wait_children(2)
    pinned = list(one_connection_per_worker(server).values())
    for i in range(6):
        assert post_comment(pinned[i % 2], f"mail me {i}") == 201
    for conn in pinned:
        conn.close()
    deadline = time.monotonic() + 30
    while len(mailbox.received) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.5)  # longer than a poll: a second sender would have found the rows by now
    server.stop()
    ids = [got.message["Message-ID"] for got in mailbox.received]
    assert len(ids) == 6
    assert len(set(ids)) == 6
    open_site(load_config(path, environ={}))
    with connection():
        rows = list(OutboxMessage.select())
    assert [(row.status, row.attempts) for row in rows] == [("sent", 1)] * 6


@pytest.mark.slow
def test_a_killed_worker_is_replaced(servers, ini):
    server = servers(ini(), "--workers", "2")
    workers = server.wait_children(2)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    replaced = server.wait_children(2, not_in={victim})
    assert workers - {victim} < replaced
    statuses = [server.request("GET", "/health")[0] for _ in range(20)]
    assert statuses == [200] * 20
    pinned = one_connection_per_worker(server)  # the new worker serves too
    assert len(pinned) == 2
    for conn in pinned.values():
        conn.close()
    log = server.stop()
    assert f"worker {victim} exited with signal 9" in log


@pytest.mark.slow
def test_sighup_restarts_every_worker_without_a_failed_request(servers, ini):
    server = servers(ini(), "--workers", "2")
    old = server.wait_children(2)
    assert post_comment(server, "before the restart") == 201
    failures: list[str] = []
    done = threading.Event()
    count = [0]

    def client() -> None:
        paths = ("/health", "/api/comments?uri=/workers/", "/api/counts?uri=/workers/")
        while not done.is_set():
            path = paths[count[0] % len(paths)]
            try:
                status, _ = server.request("GET", path)
                if status != 200:
                    failures.append(f"{path}: {status}")
            except OSError as exc:
                failures.append(f"{path}: {exc!r}")
            count[0] += 1

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        server.process.send_signal(signal.SIGHUP)
        new = server.wait_children(2, not_in=old)
        time.sleep(0.5)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert count[0] > 10  # traffic flowed all through the restart
    assert not new & old
    log = server.stop()
    assert "every worker restarted" in log


@pytest.mark.slow
def test_sighup_with_a_broken_config_keeps_the_workers(servers, ini, tmp_path):
    path = ini()
    server = servers(path, "--workers", "2")
    old = server.wait_children(2)
    Path(path).write_text(Path(path).read_text() + "[server]\nprot = 1\n")
    server.process.send_signal(signal.SIGHUP)
    server.wait_log("reload failed")
    assert server.children() == old
    assert server.request("GET", "/health")[0] == 200
    server.stop()


def test_workers_report_a_busy_port(ini, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}
        done = subprocess.run(
            [*COMMAND, "--config", ini(), "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert "cannot start" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_two_servers_on_one_database_share_limits_and_spend_links_once(servers, ini):
    path = ini(
        ratelimit={"comments_per_minute": 2},
        moderation={"mode": "all"},
        mail={"admin": ADMIN},
    )
    first, second = servers(path), servers(path)
    assert post_comment(first, "a") == 201
    assert post_comment(second, "b") == 201
    assert post_comment(first, "c") == 429
    assert post_comment(second, "d") == 429

    site = open_site(load_config(path, environ={}))
    with connection():
        cid = Comment.select().order_by(Comment.id).first().id
    expires = utcnow() + dt.timedelta(hours=1)
    link = links.moderation_token(site.keys, "approve", cid, expires)
    barrier = threading.Barrier(2)

    def spend(server: Server) -> int:
        barrier.wait()
        return server.request("POST", f"/moderate/{link}")[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(spend, (first, second)))
    assert statuses in ([200, 409], [303, 409])
    first.stop()
    second.stop()


def test_the_wsgi_module_serves_the_app_from_the_environment(tmp_path, database_url):
    """``commentd.wsgi:application`` for gunicorn or uwsgi: config from the environment."""
    script = (
        "import io, json\n"
        "from commentd.wsgi import application\n"
        "seen = {}\n"
        "environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/health', 'SERVER_NAME': 'x',\n"
        "           'SERVER_PORT': '80', 'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(),\n"
        "           'REMOTE_ADDR': '127.0.0.1'}\n"
        "body = b''.join(application(environ, lambda s, h, e=None: seen.update(s=s)))\n"
        "print(seen['s'], json.loads(body)['status'])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}
    env["COMMENTD_DATABASE_URL"] = database_url
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("200 OK")


def requests_counted(conn: HTTPConnection, route: str) -> float:
    status, body = send(conn, "GET", "/metrics")
    assert status == 200
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.decode().splitlines()
        if line.startswith("commentd_http_requests_total{") and f'"{route}"' in line
    )


@pytest.mark.slow
def test_metrics_sum_every_worker(servers, ini):
    server = servers(ini(), "--workers", "2")
    server.wait_children(2)
    first, second = one_connection_per_worker(server).values()
    try:
        for conn, times in ((first, 5), (second, 7)):
            for _ in range(times):
                assert send(conn, "GET", "/api/config")[0] == 200
        deadline = time.monotonic() + 30
        seen: list[float] = []
        while time.monotonic() < deadline:
            seen = [requests_counted(conn, "/api/config") for conn in (first, second)]
            if seen == [12, 12]:
                break
            time.sleep(0.25)
        assert seen == [12, 12]  # either worker answers the total of both
    finally:
        first.close()
        second.close()
    server.stop()


def scraped(server: Server) -> dict[tuple[str, frozenset], float]:
    status, body = server.request("GET", "/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


@pytest.mark.slow
def test_metrics_keep_the_counts_of_killed_and_restarted_workers(servers, ini):
    """A crashed worker's counts were written as it counted; SIGHUP keeps them too, and only
    live workers count as processes."""
    server = servers(ini(), "--workers", "2")
    workers = server.wait_children(2)
    for _ in range(5):
        assert server.request("GET", "/api/config")[0] == 200
    config = (
        "commentd_http_requests_total",
        frozenset({("method", "GET"), ("route", "/api/config"), ("status", "200")}),
    )
    processes = ("commentd_processes", frozenset())
    for victim in workers:
        os.kill(victim, signal.SIGKILL)  # a crash: nothing flushed on the way out
    replaced = server.wait_children(2, not_in=workers)
    deadline = time.monotonic() + 30
    while scraped(server)[processes] != 2:  # until both new workers have started
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert scraped(server)[config] == 5
    server.process.send_signal(signal.SIGHUP)
    server.wait_children(2, not_in=replaced)
    deadline = time.monotonic() + 30
    while scraped(server)[processes] != 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert scraped(server)[config] == 5
    server.stop()


@pytest.mark.slow
def test_workers_stop_when_the_supervisor_is_killed(servers, ini):
    server = servers(ini(), "--workers", "2")
    workers = server.wait_children(2)
    server.process.kill()
    server.process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers):
        assert time.monotonic() < deadline, "orphaned workers kept running"
        time.sleep(0.1)


def read_with_etag(server: Server, path: str, etag: str | None = None) -> tuple[int, str, bytes]:
    conn = HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers={"If-None-Match": etag} if etag else {})
        res = conn.getresponse()
        return res.status, res.getheader("ETag") or "", res.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_a_server_shows_at_once_what_another_server_on_its_database_wrote(servers, ini):
    """Servers keep thread versions in memory until the database changes: a comment posted
    through one shows on the other at once, whose old ETag and counts no longer hold."""
    path = ini()
    first, second = servers(path), servers(path)
    thread, counts = "/api/comments?uri=/workers/", "/api/counts?uri=/workers/"
    assert post_comment(first, "the first comment") == 201
    status, etag, _ = read_with_etag(first, thread)
    assert status == 200
    assert read_with_etag(first, thread, etag)[0] == 304  # and again, from memory
    assert read_with_etag(first, thread, etag)[0] == 304
    assert json.loads(read_with_etag(first, counts)[2])["counts"] == {"/workers/": 1}

    assert post_comment(second, "a reply from elsewhere") == 201
    status, new_etag, body = read_with_etag(first, thread, etag)
    assert status == 200
    assert new_etag != etag
    assert b"a reply from elsewhere" in body
    assert json.loads(read_with_etag(first, counts)[2])["counts"] == {"/workers/": 2}
    first.stop()
    second.stop()
