"""The benchmark suite: commentd against the ceiling of its stack and against Isso, one run.

    .venv/bin/python tests/bench/bench_suite.py [--seconds 3] [--rounds 3] [--connections 32]
        [--no-isso] [--no-big] [--no-pin] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Everything runs on 127.0.0.1, bounded in time. ``commentd serve`` (waitress, 8 threads) is
started on a fresh SQLite file with realistic data, then driven by wrk (when installed; else a
Python load generator, slower, so read the ratios) for each case:

- GET a 50-comment thread, plain and with ``Accept-Encoding: gzip`` (as browsers send it),
  each also with ``If-None-Match`` (304); the same thread as the HTML fragment
  (``/html/thread``), plain and gzipped; counts of 20 uris;
  POST new comments (16 clients); a 95/5 read/write mix;
- GET the same 10-comment thread on a 1,000-comment database and on a 1,000,000-comment
  database in 100,000 threads (``--no-big`` skips it: building it takes a minute);
- with ``--postgres URL``: GET and POST on PostgreSQL, with 1 and with 4 processes
  (the database named is emptied first).

Baselines measured in the same run on the same machine: a hello-world WSGI app under the same
server (waitress with commentd's channel, same thread count: the ceiling of our stack), run
again before every round of every case, since a shared machine's speed drifts (see
``Paired``), and Isso 0.14 (installed from PyPI, with our waitress version, into a virtualenv
of its own under the temp directory, once) under that same server, on the same workload.
The server's resident memory is read after the whole run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from tests.bench.bench_api import drive  # noqa: E402 - the Python load generator
from tests.net import free_port, wait_for  # noqa: E402

SERVER_THREADS = 8  # commentd's, the ceiling's and Isso's

# Every baseline runs under the very server commentd runs under: waitress, the same threads,
# and commentd's channel (commentd/web/channel.py, which needs only waitress), so that a ratio
# compares applications, not servers.
SERVE = f"""
import logging, sys
logging.disable(logging.CRITICAL)
sys.path.insert(0, {str(ROOT)!r})
from waitress.server import create_server
from commentd.web.channel import NoSpinChannel
def serve(app, port):
    server = create_server(app, host="127.0.0.1", port=port, threads={SERVER_THREADS})
    server.channel_class = NoSpinChannel
    server.run()
"""

HELLO = (
    SERVE
    + """
def app(environ, start_response):
    body = b'{"hello": "world"}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
serve(app, int(sys.argv[1]))
"""
)

ISSO_RUNNER = (
    SERVE
    + """
from isso import config, make_app
conf = config.load(config.default_file(), sys.argv[2])
serve(make_app(conf), int(sys.argv[1]))
"""
)

ISSO_CONFIG = """
[general]
dbpath = {db}
host = http://127.0.0.1:{port}/
[moderation]
enabled = false
[guard]
enabled = false
[server]
listen = http://127.0.0.1:{port}/
"""

ISSO_VERSION = "0.14.0"
WAITRESS_VERSION = importlib.metadata.version("waitress")  # Isso's is the same as ours
TEXT = "A comment with *some* Markdown, a [link](https://example.com) and `code`: {n}."
WRK_THREADS = 2
# With taskset and two cores or more, every single-process server runs on core 0 and wrk on
# core 1: each side has a core of its own, and the figures stop swinging with where the
# scheduler puts the server's threads (unpinned, the same hello-world app measured anywhere
# from 4,000 to 9,000 req/s within a minute). Multi-process servers are not pinned.
PIN = {"server": ["taskset", "-c", "0"], "load": ["taskset", "-c", "1"]}
PINNING = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def load_is_wrk() -> bool:
    """The Python load generator runs in this process, which is not pinned."""
    return shutil.which("wrk") is not None


def pinned(role: str, command: list[str]) -> list[str]:
    """``command``, on the core kept for ``role`` when pinning."""
    return [*PIN[role], *command] if PINNING else command


POST_CLIENTS = 16  # the POST target is set at 16 concurrent clients
# What new comments say ({n}: unique per request, so none is refused as a double post): plain
# prose, as most comments are, and the same with Markdown, which takes the parser.
PLAIN_COMMENT = "New comment {n}"
MARKDOWN_COMMENT = "New *comment* {n} with a [link](https://example.com/) and `code`"


# -- load generation ---------------------------------------------------------------------


def lua_post(path: str, body_template: str, read_path: str | None = None, read_share=0) -> str:
    """A wrk script sending unique POST bodies; with ``read_path``, a read/write mix."""
    return f"""
local made = 0
function setup(thread)
  made = made + 1
  thread:set("tid", made)
end
local counter = 0
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  if {read_share} > 0 and math.random(1, 100) <= {read_share} then
    return wrk.format("GET", "{read_path}")
  end
  local body = string.format('{body_template}', tostring(tid) .. "-" .. counter)
  return wrk.format("POST", "{path}", nil, body)
end
"""


def lua_headers(headers: dict[str, str], method: str = "GET", body: str | None = None) -> str:
    lines = [f'wrk.headers["{k}"] = {json.dumps(v)}' for k, v in headers.items()]
    lines.append(f'wrk.method = "{method}"')
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    return "\n".join(lines) + "\n"


def run_wrk(url: str, seconds: float, connections: int, script: str | None, work: Path) -> dict:
    duration = max(1, round(seconds))
    command = pinned(
        "load", ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", "--latency"]
    )
    if script:
        path = work / f"script-{time.monotonic_ns()}.lua"
        path.write_text(script)
        command += ["-s", str(path)]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def percentile(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(bad.group(1)) if bad else 0
    if sockets:
        errors += sum(int(g) for g in sockets.groups())
    return {"rps": rps, "p50": percentile("50"), "p99": percentile("99"), "errors": errors}


class Load:
    """wrk when installed, else the Python generator (same cases, lower absolute numbers)."""

    def __init__(self, seconds: float, connections: int, work: Path):
        self.seconds, self.connections, self.work = seconds, connections, work
        self.wrk = load_is_wrk()

    @property
    def name(self) -> str:
        if self.wrk:
            return f"wrk, {WRK_THREADS} threads, {self.connections} connections"
        return f"Python load generator, {min(self.connections, 16)} clients"

    def get(self, port: int, path: str, headers: dict[str, str] | None = None) -> dict:
        if self.wrk:
            script = lua_headers(headers) if headers else None
            return run_wrk(
                f"http://127.0.0.1:{port}{path}", self.seconds, self.connections, script, self.work
            )
        return drive(
            port, "GET", path, None, self.seconds, min(self.connections, 16), headers=headers
        )

    def post_json(self, port: int, path: str, body: str) -> dict:
        """The same body every time (for idempotent reads such as Isso's counts)."""
        if self.wrk:
            script = lua_headers({"Content-Type": "application/json"}, "POST", body)
            return run_wrk(
                f"http://127.0.0.1:{port}{path}", self.seconds, self.connections, script, self.work
            )
        return drive(
            port, "POST", path, lambda n, i: body.encode(), self.seconds, min(self.connections, 16)
        )

    def post_new(
        self,
        port: int,
        path: str,
        read_path: str | None = None,
        read_share: int = 0,
        clients: int | None = None,
        text: str = PLAIN_COMMENT,
    ) -> dict:
        """Unique comments saying ``text`` (so no double-post refusals), optionally mixed with
        reads; ``clients`` connections instead of the suite's."""
        connections = clients or self.connections
        run = time.monotonic_ns()  # unique across runs too
        if self.wrk:
            template = json.dumps({"text": text.format(n=f"%s, run {run}")})
            script = lua_post(path, template, read_path, read_share)
            return run_wrk(
                f"http://127.0.0.1:{port}{path}", self.seconds, connections, script, self.work
            )

        def body(n: int, i: int) -> bytes:
            return json.dumps({"text": text.format(n=f"{n}-{i}, run {run}")}).encode()

        return drive(port, "POST", path, body, self.seconds, min(connections, 16))


# -- servers -----------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    total = 0
    for child in [pid, *children(pid)]:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return total / 1024


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}


def start_commentd(
    url: str,
    work: Path,
    workers: int = 1,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> tuple[subprocess.Popen, int]:
    """``commentd serve`` on ``url`` (on ``port``, else a free one), benchmark settings plus
    ``env``; its output to ``log``, if named."""
    port = port or free_port()
    settings = clean_env() | {
        "COMMENTD_DATABASE_URL": url,
        "COMMENTD_SERVER_PORT": str(port),
        "COMMENTD_SERVER_THREADS": str(SERVER_THREADS),
        "COMMENTD_SERVER_ACCESS_LOG": "off",
        "COMMENTD_RATELIMIT_COMMENTS_PER_MINUTE": "0",
        "COMMENTD_RATELIMIT_COMMENTS_PER_HOUR": "0",
        "COMMENTD_RATELIMIT_VOTES_PER_MINUTE": "0",
        "COMMENTD_MODERATION_MIN_SUBMIT_TIME": "0",
        "COMMENTD_SPAM_PROOF_OF_WORK": "off",  # the load is one network's burst
        "COMMENTD_COMMENTS_MAX_LINKS": "0",
        "COMMENTD_SECURITY_SECRET": "b" * 40,
    }
    command = [sys.executable, "-m", "commentd", "serve"]
    if workers > 1:
        command += ["--workers", str(workers)]
    else:
        command = pinned("server", command)
    process = subprocess.Popen(
        command,
        env=settings | (env or {}),
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab") if log else subprocess.DEVNULL,
    )
    wait_for(port, process)
    return process, port


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def request(
    port: int, method: str, path: str, body: object = None, headers: dict | None = None
) -> tuple[int, dict, bytes]:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def seed_api(port: int, new_path: str) -> None:
    """50 comments on /bench/ (a third are replies), one on each of 20 pages and on /w/.

    Every first comment names its page's title: Isso would otherwise fetch the page.
    """
    parents: list[int] = []
    for n in range(50):
        body: dict = {"text": TEXT.format(n=n), "author": f"Reader {n}", "title": "Bench"}
        if n % 3 == 2 and parents:
            body["parent"] = parents[-1]
        status, _, raw = request(port, "POST", new_path.format(uri="/bench/"), body)
        assert status in (200, 201), raw
        parents.append(json.loads(raw).get("id") or json.loads(raw)["comment"]["id"])
    for uri in [*(f"/page-{n}/" for n in range(20)), "/w/"]:
        body = {"text": f"First comment on {uri}", "title": "Bench"}
        status, _, raw = request(port, "POST", new_path.format(uri=uri), body)
        assert status in (200, 201), raw


# -- databases ---------------------------------------------------------------------------


def build_sqlite(path: Path, threads: int, per_thread: int) -> None:
    """A migrated commentd database filled directly: ``threads`` x ``per_thread`` comments."""
    env = clean_env() | {"COMMENTD_DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run(
        [sys.executable, "-m", "commentd", "migrate"], env=env, check=True, capture_output=True
    )
    db = sqlite3.connect(path)
    now = dt.datetime(2026, 1, 1)
    html = "<p>A comment with <em>some</em> Markdown and <code>code</code>.</p>\n"
    with db:
        db.executemany(
            "INSERT INTO thread (id, uri, title, created, locked, version) VALUES (?,?,?,?,0,1)",
            ((t + 1, f"/t/{t}/", f"Post {t}", now) for t in range(threads)),
        )
        rows = (
            (
                t + 1,
                f"Reader {c}",
                "A comment with *some* Markdown and `code`.",
                html,
                now + dt.timedelta(minutes=c),
            )
            for t in range(threads)
            for c in range(per_thread)
        )
        db.executemany(
            "INSERT INTO comment (thread_id, author, text, html, created, status, likes, "
            "dislikes, notify, pinned) VALUES (?,?,?,?,?,'approved',0,0,0,0)",
            rows,
        )
    db.close()


def isso_python(work_root: Path) -> Path | None:
    """Isso 0.14 with waitress in a virtualenv of its own (made once, kept in the temp dir)."""
    venv = work_root / f"commentd-bench-isso-{ISSO_VERSION}-waitress-{WAITRESS_VERSION}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing isso=={ISSO_VERSION} into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        result = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                f"isso=={ISSO_VERSION}",
                f"waitress=={WAITRESS_VERSION}",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            print(f"could not install Isso, skipping it:\n{result.stderr[-2000:]}")
            shutil.rmtree(venv, ignore_errors=True)
            return None
    return python


# -- the run -----------------------------------------------------------------------------


class Paired:
    """Each case run in rounds, each round right after a run of the hello-world ceiling.

    On a shared machine (a VM whose neighbours come and go) the same server's throughput
    drifts by tens of percent within minutes, so one ceiling measured at the start would
    flatter or blame whatever ran later. Every figure is compared with ceilings measured
    beside it: a case's row is its median round, its ratio the median of its rounds' ratios,
    and the range shows how far the rounds spread.
    """

    def __init__(self, load: Load, hello_port: int, rounds: int):
        self.load, self.hello_port, self.rounds = load, hello_port, rounds
        self.rows: list[tuple[str, dict]] = []

    def run(self, name: str, case) -> dict:
        rounds = []
        for _ in range(self.rounds):
            ceiling = self.load.get(self.hello_port, "/")["rps"]
            result = case()
            rounds.append(result | {"ceiling": ceiling, "ratio": result["rps"] / ceiling})
        by_rps = sorted(rounds, key=lambda r: r["rps"])
        ratios = sorted(r["ratio"] for r in rounds)
        row = by_rps[len(by_rps) // 2] | {
            "ceiling": sorted(r["ceiling"] for r in rounds)[len(rounds) // 2],
            "ratio": ratios[len(ratios) // 2],
            "low": ratios[0],
            "high": ratios[-1],
            "errors": sum(r["errors"] for r in rounds),
        }
        self.rows.append((name, row))
        return row


def fmt(result: dict) -> str:
    spread = f"{result['low']:.2f}-{result['high']:.2f}"
    return (
        f"{result['rps']:>7.0f} {result['p50']:>7.2f} {result['p99']:>7.2f} "
        f"{result['errors']:>6} {result['ceiling']:>7.0f} {result['ratio']:>6.2f} {spread:>10}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="per case, each after a ceiling")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-isso", action="store_true")
    parser.add_argument("--no-big", action="store_true")
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure too (it is emptied)")
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place all")
    args = parser.parse_args()
    global PINNING
    PINNING = PINNING and not args.no_pin and load_is_wrk()

    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        load = Load(args.seconds, args.connections, work)
        print(
            f"load: {load.name}; {args.rounds} rounds of {args.seconds:.0f} s per case, each "
            "after a round of the hello-world ceiling; every server: waitress, "
            f"{SERVER_THREADS} threads"
        )
        if PINNING:
            print("pinned: single-process servers on core 0, the load generator on core 1")
        else:
            print("not pinned: the scheduler places servers and load generator")
        hello_port = free_port()
        hello = subprocess.Popen(pinned("server", [sys.executable, "-c", HELLO, str(hello_port)]))
        try:
            wait_for(hello_port, hello)
            bench = Paired(load, hello_port, args.rounds)
            run_cases(args, load, bench, work, notes)
        finally:
            stop(hello)
    report(bench.rows, notes)


THREAD = "/api/comments?uri=/bench/"
FRAGMENT = "/html/thread?uri=/bench/"
GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium sends


def run_cases(args, load: Load, bench: Paired, work: Path, notes: list[str]) -> None:
    """Every case, each paired with its ceilings by ``bench``."""
    sqlite_cases(load, bench, work, notes)
    if not args.no_big:
        big_database_cases(load, bench, work, notes)
    if args.postgres:
        postgres_cases(args.postgres, load, bench, work)
    if not args.no_isso:
        isso_cases(load, bench, work, notes)


def sqlite_cases(load: Load, bench: Paired, work: Path, notes: list[str]) -> None:
    server, port = start_commentd(f"sqlite:///{work / 'bench.db'}", work)
    try:
        seed_api(port, "/api/comments?uri={uri}")
        _, headers, _ = request(port, "GET", THREAD)
        etag = {k.lower(): v for k, v in headers.items()}.get("etag")
        counts = "/api/counts?" + "&".join(f"uri=/page-{n}/" for n in range(20))
        bench.run("commentd GET 50-comment thread", lambda: load.get(port, THREAD))
        bench.run("commentd GET thread, gzip", lambda: load.get(port, THREAD, GZIP))
        _, headers, _ = request(port, "GET", THREAD, headers=GZIP)
        gzip_etag = {k.lower(): v for k, v in headers.items()}.get("etag")
        if gzip_etag:
            bench.run(
                "commentd GET thread, gzip, 304",
                lambda: load.get(port, THREAD, {**GZIP, "If-None-Match": gzip_etag}),
            )
        bench.run("commentd GET thread as HTML", lambda: load.get(port, FRAGMENT))
        bench.run("commentd GET thread as HTML, gzip", lambda: load.get(port, FRAGMENT, GZIP))
        if etag:
            bench.run(
                "commentd GET thread, 304",
                lambda: load.get(port, THREAD, {"If-None-Match": etag}),
            )
        else:
            notes.append("no ETag on thread reads: the 304 case was skipped")
        bench.run("commentd counts of 20 uris", lambda: load.get(port, counts))
        bench.run(
            "commentd POST new comment",
            lambda: load.post_new(port, "/api/comments?uri=/w/", clients=POST_CLIENTS),
        )
        bench.run(
            "commentd POST Markdown comment",
            lambda: load.post_new(
                port, "/api/comments?uri=/w/", clients=POST_CLIENTS, text=MARKDOWN_COMMENT
            ),
        )
        bench.run(
            "commentd 95/5 read/write mix",
            lambda: load.post_new(port, THREAD, THREAD, read_share=95),
        )
    finally:
        memory = rss_mb(server.pid)
        stop(server)
    notes.append(f"commentd resident memory after its runs: {memory:.0f} MB")


def big_database_cases(load: Load, bench: Paired, work: Path, notes: list[str]) -> None:
    small, big = work / "small.db", work / "big.db"
    started = time.perf_counter()
    build_sqlite(small, 100, 10)
    build_sqlite(big, 100_000, 10)
    took = time.perf_counter() - started
    notes.append(f"built 1,000- and 1,000,000-comment databases in {took:.0f} s")
    for name, path in (("1,000", small), ("1,000,000", big)):
        server, port = start_commentd(f"sqlite:///{path}", work)
        try:
            bench.run(
                f"commentd GET 10-comment thread, {name}-comment db",
                lambda port=port: load.get(port, "/api/comments?uri=/t/42/"),
            )
        finally:
            stop(server)


def postgres_cases(url: str, load: Load, bench: Paired, work: Path) -> None:
    reset = clean_env() | {"COMMENTD_DATABASE_URL": url}
    for workers in (1, 4):
        subprocess.run(
            [
                "psql",
                url.replace("+pool", ""),
                "-qc",
                "DROP SCHEMA public CASCADE; CREATE SCHEMA public",
            ],
            check=True,
            capture_output=True,
            env=reset,
        )
        server, port = start_commentd(url, work, workers=workers)
        try:
            seed_api(port, "/api/comments?uri={uri}")
            label = f"PostgreSQL, {workers} process{'es' if workers > 1 else ''}"
            bench.run(f"commentd GET thread ({label})", lambda port=port: load.get(port, THREAD))
            bench.run(
                f"commentd POST ({label})",
                lambda port=port: load.post_new(
                    port, "/api/comments?uri=/w/", clients=POST_CLIENTS
                ),
            )
        finally:
            stop(server)


def isso_cases(load: Load, bench: Paired, work: Path, notes: list[str]) -> None:
    python = isso_python(Path(tempfile.gettempdir()))
    if python is None:
        notes.append("Isso could not be installed: its cases were skipped")
        return
    port = free_port()
    config = work / "isso.cfg"
    config.write_text(ISSO_CONFIG.format(db=work / "isso.db", port=port))
    script = work / "isso_runner.py"
    script.write_text(ISSO_RUNNER)
    isso = subprocess.Popen(
        pinned("server", [str(python), str(script), str(port), str(config)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, isso)
        seed_api(port, "/new?uri={uri}")
        uris = json.dumps([f"/page-{n}/" for n in range(20)])
        bench.run("Isso 0.14 GET 50-comment thread", lambda: load.get(port, "/?uri=/bench/"))
        bench.run("Isso 0.14 counts of 20 uris", lambda: load.post_json(port, "/count", uris))
        bench.run(
            "Isso 0.14 POST new comment",
            lambda: load.post_new(port, "/new?uri=/w/", clients=POST_CLIENTS),
        )
        bench.run(
            "Isso 0.14 POST Markdown comment",
            lambda: load.post_new(
                port, "/new?uri=/w/", clients=POST_CLIENTS, text=MARKDOWN_COMMENT
            ),
        )
    finally:
        notes.append(f"Isso resident memory after its runs: {rss_mb(isso.pid):.0f} MB")
        stop(isso)


def report(rows: list[tuple[str, dict]], notes: list[str]) -> None:
    print(
        f"{'case':<52} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'ceiling':>7} {'ratio':>6} {'range':>10}"
    )
    for name, result in rows:
        print(f"{name:<52} {fmt(result)}")
    by_name = dict(rows)

    def ratio(a: str, b: str) -> str:
        if a in by_name and b in by_name:
            return f"{by_name[a]['rps'] / by_name[b]['rps']:.2f}"
        return "n/a"

    print()
    print("ratio: req/s over the hello-world ceiling measured just before, median of the rounds")
    for label, ours, isso_case in (
        ("POST", "commentd POST new comment", "Isso 0.14 POST new comment"),
        ("POST Markdown", "commentd POST Markdown comment", "Isso 0.14 POST Markdown comment"),
        ("GET thread", "commentd GET 50-comment thread", "Isso 0.14 GET 50-comment thread"),
        ("counts", "commentd counts of 20 uris", "Isso 0.14 counts of 20 uris"),
    ):
        print(f"{label}, commentd / Isso: {ratio(ours, isso_case)}x")
    small_name = "commentd GET 10-comment thread, 1,000-comment db"
    big_name = "commentd GET 10-comment thread, 1,000,000-comment db"
    if small_name in by_name and big_name in by_name:
        slowdown = by_name[big_name]["p50"] / by_name[small_name]["p50"]
        print(f"1,000,000 vs 1,000 comments, GET p50: {slowdown:.2f}x")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
