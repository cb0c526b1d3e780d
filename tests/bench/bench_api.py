"""API latency and throughput against the ceiling of our own stack, measured in one run.

Run: ``.venv/bin/python tests/bench/bench_api.py [--seconds 5] [--clients 8]``

Starts ``commentd serve`` (waitress, 8 threads) on a fresh SQLite file in a temp directory,
loads a 50-comment thread, then drives it from client threads over keep-alive connections to
127.0.0.1 for a bounded time per case. The baseline is a hello-world WSGI app under the same
waitress with the same thread count, driven the same way; every figure is printed as a ratio of
that ceiling. The Python load generator is itself a bottleneck: absolute numbers are lower than
wrk would show, the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from tests.net import free_port, wait_for

HELLO = """
from waitress import serve
def app(environ, start_response):
    body = b'{"hello": "world"}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
serve(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), threads=8, _quiet=True)
"""


def drive(
    port: int,
    method: str,
    path: str,
    body_of,
    seconds: float,
    clients: int,
    headers: dict[str, str] | None = None,
) -> dict:
    """Send requests from ``clients`` threads for ``seconds``; latencies in ms."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        mine, i = [], 0
        while time.monotonic() < stop:
            body = body_of(n, i) if body_of else None
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=sent)
            res = conn.getresponse()
            res.read()
            mine.append((time.perf_counter() - started) * 1000)
            if res.status >= 400:  # 304 is a success
                with lock:
                    errors[0] += 1
            i += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        hello_port, port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}
        env["COMMENTD_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
        env["COMMENTD_SERVER_PORT"] = str(port)
        env["COMMENTD_RATELIMIT_COMMENTS_PER_MINUTE"] = "0"
        env["COMMENTD_RATELIMIT_COMMENTS_PER_HOUR"] = "0"
        env["COMMENTD_SPAM_PROOF_OF_WORK"] = "off"  # the load is one network's burst
        hello = subprocess.Popen([sys.executable, "-c", HELLO, str(hello_port)])
        server = subprocess.Popen(
            [sys.executable, "-m", "commentd", "serve"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(hello_port, hello)
            wait_for(port, server)
            conn = HTTPConnection("127.0.0.1", port)
            text = "A comment with *some* Markdown, a [link](https://example.com) and `code`."
            for i in range(50):
                conn.request(
                    "POST",
                    "/api/comments?uri=/bench/",
                    body=json.dumps({"text": f"{text} {i}", "author": f"Reader {i}"}),
                    headers={"Content-Type": "application/json"},
                )
                conn.getresponse().read()
            conn.close()

            def new_comment(n: int, i: int) -> bytes:
                return json.dumps({"text": f"{text} from client {n}, #{i}"}).encode()

            cases = [
                ("hello-world baseline", hello_port, "GET", "/", None),
                ("GET 50-comment thread", port, "GET", "/api/comments?uri=/bench/", None),
                ("GET counts (1 uri)", port, "GET", "/api/counts?uri=/bench/", None),
                ("POST new comment", port, "POST", "/api/comments?uri=/bench-post/", new_comment),
            ]
            results = {}
            for name, target, method, path, body_of in cases:
                results[name] = drive(target, method, path, body_of, args.seconds, args.clients)
        finally:
            for proc in (server, hello):
                proc.terminate()
                proc.wait(10)

    ceiling = results["hello-world baseline"]["rps"]
    print(f"{args.clients} client threads, {args.seconds:.0f} s per case, waitress 8 threads")
    print(f"{'case':<24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'x ceiling':>10}")
    for name, r in results.items():
        print(
            f"{name:<24} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
            f"{r['errors']:>6} {r['rps'] / ceiling:>10.2f}"
        )


if __name__ == "__main__":
    main()
