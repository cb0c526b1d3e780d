"""The benchmark suite: commentd against the ceiling of its stack and against Isso, one run.

    .venv/bin/python tests/bench/bench_suite.py [--seconds 5] [--connections 32]
        [--no-isso] [--no-big] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Everything runs on 127.0.0.1, bounded in time. ``commentd serve`` (waitress, 8 threads) is
started on a fresh SQLite file with realistic data, then driven by wrk (when installed; else a
Python load generator, slower, so read the ratios) for each case:

- GET a 50-comment thread; the same with ``If-None-Match`` (304); counts of 20 uris;
  POST new comments; a 95/5 read/write mix;
- GET the same 10-comment thread on a 1,000-comment database and on a 1,000,000-comment
  database in 100,000 threads (``--no-big`` skips it: building it takes a minute);
- with ``--postgres URL``: GET and POST on PostgreSQL, with 1 and with 4 processes
  (the database named is emptied first).

Baselines measured in the same run on the same machine: a hello-world WSGI app under the same
waitress and thread count (the ceiling of our stack), and Isso 0.14 (installed from PyPI into
a virtualenv of its own under the temp directory, once) under the same waitress, on the same
workload. The server's resident memory is read after the whole run.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

HELLO = """
import logging, sys
logging.disable(logging.CRITICAL)
from waitress import serve
def app(environ, start_response):
    body = b'{"hello": "world"}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""

ISSO_RUNNER = """
import sys, logging
logging.disable(logging.CRITICAL)
from waitress import serve
from isso import config, make_app
conf = config.load(config.default_file(), sys.argv[2])
serve(make_app(conf), host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""

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
TEXT = "A comment with *some* Markdown, a [link](https://example.com) and `code`: {n}."
WRK_THREADS = 2


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
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", "--latency"]
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
        self.wrk = shutil.which("wrk") is not None

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
        self, port: int, path: str, read_path: str | None = None, read_share: int = 0
    ) -> dict:
        """Unique comments (so no double-post refusals), optionally mixed with reads."""
        if self.wrk:
            script = lua_post(path, '{"text": "New comment %s"}', read_path, read_share)
            return run_wrk(
                f"http://127.0.0.1:{port}{path}", self.seconds, self.connections, script, self.work
            )

        def body(n: int, i: int) -> bytes:
            return json.dumps({"text": f"New comment {n}-{i}-{time.monotonic_ns()}"}).encode()

        return drive(port, "POST", path, body, self.seconds, min(self.connections, 16))


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


def start_commentd(url: str, work: Path, workers: int = 1) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = clean_env() | {
        "COMMENTD_DATABASE_URL": url,
        "COMMENTD_SERVER_PORT": str(port),
        "COMMENTD_SERVER_ACCESS_LOG": "off",
        "COMMENTD_RATELIMIT_COMMENTS_PER_MINUTE": "0",
        "COMMENTD_RATELIMIT_COMMENTS_PER_HOUR": "0",
        "COMMENTD_RATELIMIT_VOTES_PER_MINUTE": "0",
        "COMMENTD_MODERATION_MIN_SUBMIT_TIME": "0",
        "COMMENTD_COMMENTS_MAX_LINKS": "0",
        "COMMENTD_SECURITY_SECRET": "b" * 40,
    }
    command = [sys.executable, "-m", "commentd", "serve"]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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


def request(port: int, method: str, path: str, body: object = None) -> tuple[int, dict, bytes]:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
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
    venv = work_root / f"commentd-bench-isso-{ISSO_VERSION}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing isso=={ISSO_VERSION} into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"isso=={ISSO_VERSION}", "waitress"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            print(f"could not install Isso, skipping it:\n{result.stderr[-2000:]}")
            shutil.rmtree(venv, ignore_errors=True)
            return None
    return python


# -- the run -----------------------------------------------------------------------------


def fmt(result: dict, ceiling: float) -> str:
    return (
        f"{result['rps']:>9.0f} {result['p50']:>8.2f} {result['p99']:>8.2f} "
        f"{result['errors']:>7} {result['rps'] / ceiling:>9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-isso", action="store_true")
    parser.add_argument("--no-big", action="store_true")
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure too (it is emptied)")
    args = parser.parse_args()

    rows: list[tuple[str, dict]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        load = Load(args.seconds, args.connections, work)
        print(
            f"load: {load.name}; {args.seconds:.0f} s per case; every server: waitress, 8 threads"
        )

        hello_port = free_port()
        hello = subprocess.Popen([sys.executable, "-c", HELLO, str(hello_port)])
        try:
            wait_for(hello_port, hello)
            rows.append(("hello-world WSGI (ceiling)", load.get(hello_port, "/")))
        finally:
            stop(hello)
        ceiling = rows[-1][1]["rps"]

        server, port = start_commentd(f"sqlite:///{work / 'bench.db'}", work)
        try:
            seed_api(port, "/api/comments?uri={uri}")
            thread = "/api/comments?uri=/bench/"
            _, headers, _ = request(port, "GET", thread)
            etag = {k.lower(): v for k, v in headers.items()}.get("etag")
            counts = "/api/counts?" + "&".join(f"uri=/page-{n}/" for n in range(20))
            rows.append(("commentd GET 50-comment thread", load.get(port, thread)))
            if etag:
                rows.append(
                    ("commentd GET thread, 304", load.get(port, thread, {"If-None-Match": etag}))
                )
            else:
                notes.append("no ETag on thread reads: the 304 case was skipped")
            rows.append(("commentd counts of 20 uris", load.get(port, counts)))
            rows.append(("commentd POST new comment", load.post_new(port, "/api/comments?uri=/w/")))
            rows.append(
                (
                    "commentd 95/5 read/write mix",
                    load.post_new(port, "/api/comments?uri=/bench/", thread, read_share=95),
                )
            )
        finally:
            memory = rss_mb(server.pid)
            stop(server)
        notes.append(f"commentd resident memory after its runs: {memory:.0f} MB")

        if not args.no_big:
            small, big = work / "small.db", work / "big.db"
            started = time.perf_counter()
            build_sqlite(small, 100, 10)
            build_sqlite(big, 100_000, 10)
            took = time.perf_counter() - started
            notes.append(f"built 1,000- and 1,000,000-comment databases in {took:.0f} s")
            for name, path in (("1,000", small), ("1,000,000", big)):
                server, port = start_commentd(f"sqlite:///{path}", work)
                try:
                    result = load.get(port, "/api/comments?uri=/t/42/")
                finally:
                    stop(server)
                rows.append((f"commentd GET 10-comment thread, {name}-comment db", result))

        if args.postgres:
            reset = clean_env() | {"COMMENTD_DATABASE_URL": args.postgres}
            for workers in (1, 4):
                subprocess.run(
                    [
                        "psql",
                        args.postgres.replace("+pool", ""),
                        "-qc",
                        "DROP SCHEMA public CASCADE; CREATE SCHEMA public",
                    ],
                    check=True,
                    capture_output=True,
                    env=reset,
                )
                server, port = start_commentd(args.postgres, work, workers=workers)
                try:
                    seed_api(port, "/api/comments?uri={uri}")
                    label = f"PostgreSQL, {workers} process{'es' if workers > 1 else ''}"
                    rows.append((f"commentd GET thread ({label})", load.get(port, thread)))
                    rows.append(
                        (f"commentd POST ({label})", load.post_new(port, "/api/comments?uri=/w/"))
                    )
                finally:
                    stop(server)

        if not args.no_isso:
            python = isso_python(Path(tempfile.gettempdir()))
            if python is not None:
                isso_port = free_port()
                config = work / "isso.cfg"
                config.write_text(ISSO_CONFIG.format(db=work / "isso.db", port=isso_port))
                script = work / "isso_runner.py"
                script.write_text(ISSO_RUNNER)
                isso = subprocess.Popen(
                    [str(python), str(script), str(isso_port), str(config)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    wait_for(isso_port, isso)
                    seed_api(isso_port, "/new?uri={uri}")
                    uris = json.dumps([f"/page-{n}/" for n in range(20)])
                    rows.append(
                        ("Isso 0.14 GET 50-comment thread", load.get(isso_port, "/?uri=/bench/"))
                    )
                    rows.append(
                        ("Isso 0.14 counts of 20 uris", load.post_json(isso_port, "/count", uris))
                    )
                    rows.append(
                        ("Isso 0.14 POST new comment", load.post_new(isso_port, "/new?uri=/w/"))
                    )
                finally:
                    notes.append(f"Isso resident memory after its runs: {rss_mb(isso.pid):.0f} MB")
                    stop(isso)

    print(f"{'case':<52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'x ceiling':>9}")
    for name, result in rows:
        print(f"{name:<52} {fmt(result, ceiling)}")
    by_name = dict(rows)

    def ratio(a: str, b: str) -> str:
        if a in by_name and b in by_name:
            return f"{by_name[a]['rps'] / by_name[b]['rps']:.2f}"
        return "n/a"

    print()
    for label, ours, isso_case in (
        ("POST", "commentd POST new comment", "Isso 0.14 POST new comment"),
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
