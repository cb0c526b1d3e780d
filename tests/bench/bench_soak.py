"""Resident memory under a long mixed write load: does it level off, or grow with the comments?

    .venv/bin/python tests/bench/bench_soak.py [--minutes 30] [--port 18200] [--clients 4]
        [--every 5] [--env KEY=VALUE ...] [--smaps]

Starts ``commentd serve`` (waitress, 8 threads, the suite's settings: see
``bench_suite.start_commentd``) on a fresh SQLite file in a temp directory, and drives it
from ``--clients`` keep-alive connections on 127.0.0.1 until ``--minutes`` have passed (or
``--max-comments`` were written): mostly new comments (one in five with Markdown, one in
four a reply) spread over ``--uris`` threads, and reads of the threads just written to. The
server's VmRSS is sampled every ``--every`` seconds. Printed: a table of minutes, comments
written and RSS; RSS after the run as a ratio of RSS at the start (the baseline, measured
in the same run just before the load); and growth per 1,000 comments, over the whole run and
over its second half (which is what tells a plateau from growth).

``--env`` passes a variable to the server (``MALLOC_ARENA_MAX=2``, ``COMMENTD_...``) to
compare settings; ``--smaps`` prints the server's ``/proc/PID/smaps_rollup`` at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from tests.bench import bench_suite
from tests.bench.bench_suite import rss_mb, start_commentd, stop

READ_SHARE = 30  # per cent of requests that read a thread instead of writing to it
MARKDOWN_SHARE = 20  # per cent of new comments written with Markdown
REPLY_SHARE = 25  # per cent of new comments that answer an earlier one


class Tally:
    """What the clients did, shared between them and the sampler."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.comments = 0
        self.reads = 0
        self.errors = 0


def client(port: int, n: int, uris: int, tally: Tally, deadline: float, limit: int) -> None:
    """One keep-alive connection writing comments and reading threads until ``deadline``."""
    rng = random.Random(n)
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    last: dict[int, int] = {}  # thread -> the last comment this client wrote there
    i = 0
    while time.monotonic() < deadline and tally.comments < limit:
        i += 1
        thread = rng.randrange(uris)
        uri = f"/soak/{thread}/"
        try:
            if rng.randrange(100) < READ_SHARE:
                conn.request("GET", f"/api/comments?uri={uri}", headers=headers)
                res = conn.getresponse()
                res.read()
                with tally.lock:
                    tally.reads += 1
                    tally.errors += res.status >= 400
                continue
            text = (
                f"Comment *{i}* from client {n}, with a [link](https://example.com/{i}) and `code`"
                if rng.randrange(100) < MARKDOWN_SHARE
                else f"Comment {i} from client {n} on thread {thread}: plain prose, as most are."
            )
            body: dict = {"text": text, "author": f"Reader {n}-{i % 50}", "title": f"Post {thread}"}
            if thread in last and rng.randrange(100) < REPLY_SHARE:
                body["parent"] = last[thread]
            conn.request("POST", f"/api/comments?uri={uri}", json.dumps(body), headers)
            res = conn.getresponse()
            raw = res.read()
            ok = res.status in (200, 201)
            if ok:
                last[thread] = json.loads(raw)["comment"]["id"]
            with tally.lock:
                tally.comments += ok
                tally.errors += not ok
        except OSError:
            with tally.lock:
                tally.errors += 1
            conn.close()
            conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def soak(args: argparse.Namespace, work: Path) -> tuple[list[tuple[float, int, float]], Tally, str]:
    """Run the load against a fresh server; the samples (seconds, comments, RSS MB)."""
    env = dict(item.split("=", 1) for item in args.env)
    server, port = start_commentd(
        f"sqlite:///{work / 'soak.db'}", work, port=args.port, env=env, log=args.log
    )
    tally = Tally()
    samples: list[tuple[float, int, float]] = []
    smaps = ""
    try:
        time.sleep(1)  # let it settle after start
        started = time.monotonic()
        samples.append((0.0, 0, rss_mb(server.pid)))
        deadline = started + args.minutes * 60
        clients = [
            threading.Thread(
                target=client,
                args=(port, n, args.uris, tally, deadline, args.max_comments),
                daemon=True,
            )
            for n in range(args.clients)
        ]
        for t in clients:
            t.start()
        while any(t.is_alive() for t in clients):
            time.sleep(min(args.every, max(0.1, deadline - time.monotonic())))
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            samples.append((time.monotonic() - started, tally.comments, rss_mb(server.pid)))
        for t in clients:
            t.join(60)
        samples.append((time.monotonic() - started, tally.comments, rss_mb(server.pid)))
        if args.smaps:
            smaps = Path(f"/proc/{server.pid}/smaps_rollup").read_text()
    finally:
        stop(server)
    return samples, tally, smaps


def slope_per_1000(samples: list[tuple[float, int, float]]) -> float:
    """Least-squares MB per 1,000 comments over ``samples``."""
    xs = [c / 1000 for _, c, _ in samples]
    ys = [r for _, _, r in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def report(args, samples: list[tuple[float, int, float]], tally: Tally, smaps: str) -> None:
    print(f"{'minutes':>8} {'comments':>10} {'RSS MB':>8}")
    shown = -1
    for seconds, comments, rss in samples:
        minute = int(seconds // 60)
        if minute > shown or (seconds, comments, rss) == samples[-1]:
            shown = minute
            print(f"{seconds / 60:>8.1f} {comments:>10,} {rss:>8.1f}")
    start, end = samples[0][2], samples[-1][2]
    peak = max(r for _, _, r in samples)
    written = samples[-1][1]
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    print()
    print(
        f"{written:,} comments and {tally.reads:,} reads in {samples[-1][0] / 60:.1f} min "
        f"({written / max(samples[-1][0], 1):.0f} comments/s), {tally.errors} errors"
    )
    print(f"RSS: {start:.1f} MB at the start, {end:.1f} MB after, {peak:.1f} MB at most")
    print(f"RSS after / at the start: {end / start:.2f}x")
    if written:
        print(f"growth per 1,000 comments, whole run: {(end - start) / written * 1000:.3f} MB")
        print(f"growth per 1,000 comments, second half (fit): {slope_per_1000(half):.3f} MB")
    if smaps:
        print()
        print(smaps.rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=18200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--uris", type=int, default=2_000, help="threads written to")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--max-comments", type=int, default=5_000_000)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--log", type=Path, help="append the server's output to this file")
    parser.add_argument("--smaps", action="store_true", help="print smaps_rollup at the end")
    args = parser.parse_args()
    bench_suite.PINNING = False  # a long run on a shared machine: let the scheduler place it
    print(
        f"commentd serve, {bench_suite.SERVER_THREADS} threads, fresh SQLite; {args.clients} "
        f"clients, {100 - READ_SHARE}% new comments over {args.uris:,} threads, "
        f"{READ_SHARE}% reads, for {args.minutes:g} min"
        + (f"; server env: {' '.join(args.env)}" if args.env else "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        samples, tally, smaps = soak(args, Path(tmp))
    report(args, samples, tally, smaps)


if __name__ == "__main__":
    main()
