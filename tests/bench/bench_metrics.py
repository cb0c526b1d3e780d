"""Benchmark of the metrics on the request path; a script, not a test.

    .venv/bin/python tests/bench/bench_metrics.py

What one request costs in counting, and what that does to a thread GET:

- a counter increment (no labels), a labelled counter increment, a histogram observation:
  commentd's own calls (``commentd.services.metrics``, what the middleware and the services
  call) and prometheus-client's, bare: ``labels(...)`` looked up on every call and a child
  kept beforehand;
- the same in prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, which
  ``commentd serve --workers N`` uses): measured in a child process, because the mode is
  chosen when the values are made, and it writes every change to an mmap'ed file;
- StatsD: a counter and a timing sent by the ``statsd`` package (one UDP datagram each, to a
  socket bound on 127.0.0.1), and ``commentd.services.metrics.StatsD``, what a request calls;
- a thread GET in-process (a cached 50-comment thread, through the fast path), through the
  whole app and through the app without its metrics middleware, access log off: the
  difference is what measuring costs a read.

Every figure is set against baselines measured in the same process and run: an empty function
call and a dict increment (``d[k] = d.get(k, 0) + 1``). "net" is the time less the empty call
(the loop and call overhead every row carries). Runs in about 30 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

BATCH_SECONDS = 0.05  # one timed batch; the best of REPEATS batches counts
REPEATS = 7
KEY = (("method", "GET"), ("route", "/api/comments"), ("status", "200"))
DURATION_KEY = (("method", "GET"), ("route", "/api/comments"))
LABELS = dict(KEY)


def _batch(function: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return time.perf_counter() - started


def per_call(cases: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best seconds per call of every case; the cases take turns, ``REPEATS`` rounds."""
    calls = {}
    for name, function in cases.items():
        calls[name] = 1
        while _batch(function, calls[name]) < BATCH_SECONDS:
            calls[name] *= 2
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(REPEATS):
        for name, function in cases.items():
            best[name] = min(best[name], _batch(function, calls[name]) / calls[name])
    return best


def baselines() -> dict[str, Callable[[], object]]:
    counts: dict[tuple, float] = {}

    def empty() -> None:
        pass

    def dict_increment() -> None:
        counts[KEY] = counts.get(KEY, 0) + 1

    return {"empty function call": empty, "dict increment": dict_increment}


def commentd_cases(metrics) -> dict[str, Callable[[], object]]:
    """commentd's own calls, as the middleware and the services make them."""
    unlabelled, counter, histogram = (
        metrics.DATABASE_ERRORS,
        metrics.HTTP_REQUESTS,
        metrics.HTTP_DURATION,
    )
    return {
        "commentd counter, no labels": lambda: unlabelled.add(()),
        "commentd counter, 3 labels": lambda: counter.add(KEY),
        "commentd counter, inc(dict)": lambda: counter.inc(LABELS),
        "commentd histogram observe": lambda: histogram.observe_key(DURATION_KEY, 0.003),
    }


def prometheus_cases() -> dict[str, Callable[[], object]]:
    """prometheus-client alone, on a registry of its own."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry(auto_describe=False)
    bare = Counter("bench_bare_total", "No labels.", registry=registry)
    counter = Counter(
        "bench_requests_total", "Requests.", ("method", "route", "status"), registry=registry
    )
    histogram = Histogram(
        "bench_duration_seconds", "Durations.", ("method", "route"), registry=registry
    )
    child = counter.labels("GET", "/api/comments", "200")
    observer = histogram.labels("GET", "/api/comments")
    return {
        "prometheus counter, no labels": bare.inc,
        "prometheus counter, labels(...).inc()": lambda: counter.labels(
            "GET", "/api/comments", "200"
        ).inc(),
        "prometheus counter, kept child .inc()": child.inc,
        "prometheus histogram, labels(...).observe()": lambda: histogram.labels(
            "GET", "/api/comments"
        ).observe(0.003),
        "prometheus histogram, kept child .observe()": lambda: observer.observe(0.003),
    }


def statsd_cases(metrics, port: int) -> dict[str, Callable[[], object]]:
    import statsd

    client = statsd.StatsClient("127.0.0.1", port, prefix="commentd")
    ours = metrics.StatsD(f"127.0.0.1:{port}", "commentd")
    return {
        "statsd package incr (one datagram)": lambda: client.incr("requests.200"),
        "statsd package timing (one datagram)": lambda: client.timing(
            "request.api.comments", 1.234
        ),
        "commentd StatsD.count": lambda: ours.count("requests.200"),
        "commentd StatsD.timing": lambda: ours.timing("request.api.comments", 1.234),
    }


# -- a thread GET in-process ---------------------------------------------------------------


def _environ(method: str, path: str, query: str = "", body: bytes = b"") -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ORIGIN": "https://blog.example.com",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _call(wsgi: Callable, environ: dict) -> str:
    seen = []
    body = wsgi(environ, lambda status, headers, exc_info=None: seen.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return seen[0]


def thread_get_cases(work: Path) -> dict[str, Callable[[], object]]:
    from commentd.app import create_app
    from commentd.config import load_config

    config = load_config(
        None,
        environ={},
        overrides={
            "database.url": f"sqlite:///{work / 'commentd.db'}",
            "security.secret": "s" * 40,
            "server.allowed_origins": "https://blog.example.com",
            "server.access_log": "off",
            "ratelimit.comments_per_minute": 0,
            "ratelimit.comments_per_hour": 0,
            "moderation.min_submit_time": 0,
        },
    )
    app = create_app(config)
    for n in range(50):
        body = json.dumps({"text": f"Comment {n}, plain prose as most comments are."}).encode()
        status = _call(app.wsgi, _environ("POST", "/api/comments", "uri=/bench/", body))
        assert status.startswith("201"), status
    inner = app.wsgi.wsgi  # the app under the metrics middleware (commentd.web.metrics)

    def get(wsgi: Callable) -> Callable[[], object]:
        def run() -> object:
            return _call(wsgi, _environ("GET", "/api/comments", "uri=/bench/"))

        return run

    assert get(app.wsgi)().startswith("200")
    return {"thread GET, whole app": get(app.wsgi), "thread GET, without metrics": get(inner)}


# -- one process's run ---------------------------------------------------------------------


def measure(mode: str, port: int, work: Path) -> dict[str, float]:
    """Every case in this process; ``mode`` is ``single`` or ``multiprocess``."""
    from commentd.services import metrics

    if mode == "multiprocess":
        use = getattr(metrics, "use_directory", None)
        if use is not None:  # commentd on prometheus-client: the --workers mode
            use(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    cases = baselines()
    cases |= commentd_cases(metrics)
    cases |= prometheus_cases()
    if mode == "single":
        cases |= statsd_cases(metrics, port)
    cases |= thread_get_cases(work)
    return per_call(cases)


def run_child(mode: str, port: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as work:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTD_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if mode == "multiprocess":
            spool = Path(work) / "prometheus"
            spool.mkdir()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(spool)
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--port", str(port), "--work", work],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the {mode} run failed:\n{done.stderr}")
        return json.loads(done.stdout.splitlines()[-1])


def report(title: str, times: dict[str, float]) -> None:
    empty, increment = times["empty function call"], times["dict increment"]
    print(title)
    header = f"{'case':<46} {'per call':>10} {'net':>9} {'x dict incr':>11}"
    print(header)
    print("-" * len(header))
    for name, seconds in times.items():
        if name.startswith("thread GET"):
            continue
        print(
            f"{name:<46} {seconds * 1e9:8.0f} ns {(seconds - empty) * 1e9:6.0f} ns"
            f" {seconds / increment:11.1f}"
        )
    whole, bare = times["thread GET, whole app"], times["thread GET, without metrics"]
    print(f"{'thread GET, whole app':<46} {whole * 1e6:8.1f} µs")
    print(f"{'thread GET, without the metrics middleware':<46} {bare * 1e6:8.1f} µs")
    print(
        f"{'  the metrics middleware':<46} {(whole - bare) * 1e6:8.1f} µs"
        f" ({(whole - bare) / whole:.0%} of the GET)"
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("single", "multiprocess"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.child:
        import logging

        logging.disable(logging.CRITICAL)
        print(json.dumps(measure(args.child, args.port, Path(args.work))))
        return
    started = time.perf_counter()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # StatsD's datagrams land here
    receiver.bind(("127.0.0.1", 0))
    port = receiver.getsockname()[1]
    try:
        versions = ", ".join(f"{name} {version(name)}" for name in ("prometheus-client", "statsd"))
    except PackageNotFoundError as exc:
        raise SystemExit(f"install prometheus-client and statsd first: {exc}") from exc
    print(f"metrics benchmark, Python {sys.version.split()[0]}, {versions}")
    print("net: less the empty call; x dict incr: time / time of a dict increment")
    print()
    report("one process (single-process mode)", run_child("single", port))
    report("PROMETHEUS_MULTIPROC_DIR set (multiprocess mode)", run_child("multiprocess", port))
    receiver.close()
    print(f"benchmark took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
