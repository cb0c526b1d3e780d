"""What the embed's live updates cost the server: 5,000 open pages polling, one run.

    timeout 600 .venv/bin/python tests/bench/bench_polling.py [--pages 5000] [--seconds 60]
        [--threads 1000] [--post-every 2] [--connections 16]

One ``commentd serve`` (waitress, 8 threads, as in bench_suite.py) on a fresh SQLite file
with ``--threads`` threads of 10 comments. Each simulated page reads one thread (popular posts
get more readers: Zipf), starts with the ETag of its first load, and then does what the embed
does (commentd/static/js/embed.js, docs/embedding.md#live-updates): a conditional
``GET /api/comments?uri=...&sort=oldest`` with ``If-None-Match`` and the headers Chromium sends,
every 25 s +-20%, x1.5 after each 304 up to 300 s, back to 25 s after a 200. Meanwhile a new
comment is posted every ``--post-every`` seconds on a random (Zipf) thread, so its readers get
a 200. The load generator is asyncio in this process (on its own core when there are two),
over ``--connections`` keep-alive connections, as a proxy's upstream pool would send them.

Two schedules, each measured for ``--seconds``:

- "just opened": every page opened within the last 25 s, the busiest moment (as after a post
  is shared);
- "steady": the pages opened at random times over the last 10 minutes, most backed off.

The server's CPU is utime + stime from /proc/<pid>/stat, before and after, as a share of one
core. Baselines in the same run, on the same machine: the server idle for 10 s, and a
hello-world WSGI app under the same server (bench_suite's ceiling) driven at the request rate
the "just opened" pages produced: the floor a request costs on this stack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from tests.bench.bench_suite import (  # noqa: E402
    HELLO,
    PINNING,
    build_sqlite,
    pinned,
    start_commentd,
    stop,
)
from tests.net import free_port, wait_for  # noqa: E402

BASE, GROWTH, CAP = 25.0, 1.5, 300.0  # the embed's schedule (seconds), data-poll="25"
ORIGIN = "https://blog.example"
CHROMIUM = (  # what Chromium sends with the embed's cross-origin fetch
    "Connection: keep-alive\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36\r\n"
    "Accept: */*\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n"
    f"Origin: {ORIGIN}\r\nReferer: {ORIGIN}/\r\n"
    "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n"
)
POSTED = itertools.count()  # every new comment's text differs: none is a double post
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its children so far."""
    total = 0
    for child in [pid, *children(pid)]:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Conn:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, port: int):
        self.port, self.reader, self.writer = port, None, None

    async def send(self, head: str, body: bytes = b"") -> tuple[int, str | None, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(head.encode() + b"\r\n" + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status, length, etag, close = int(raw[9:12]), 0, None, False
        for line in raw.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "etag":
                etag = value.strip()
            elif name == "connection":
                close = value.strip().lower() == "close"
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.writer = None
        return status, etag, data


class Pool:
    def __init__(self, port: int, size: int):
        self.free: asyncio.Queue[Conn] = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(Conn(port))
        self.port = port

    async def send(self, head: str, body: bytes = b"") -> tuple[int, str | None, bytes]:
        conn = await self.free.get()
        try:
            return await conn.send(head, body)
        except (OSError, asyncio.IncompleteReadError):
            conn.writer = None
            return 0, None, b""
        finally:
            self.free.put_nowait(conn)

    def get(self, path: str, etag: str | None) -> asyncio.Future:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{CHROMIUM}"
        if etag:
            head += f"If-None-Match: {etag}\r\n"
        return self.send(head)


@dataclass
class Page:
    path: str
    etag: str | None
    wait: float
    due: float  # seconds from the start of the measurement


def jitter() -> float:
    return random.uniform(0.8, 1.2)


def schedule(age: float) -> tuple[float, float]:
    """The embed's state ``age`` seconds after a page opened, nothing having changed since:
    (its current wait, seconds until its next poll)."""
    wait, at = BASE, BASE  # the first poll comes after data-poll, unjittered
    while at <= age:
        wait = min(wait * GROWTH, CAP)
        at += wait * jitter()
    return wait, at - age


def thread_path(t: int) -> str:
    return f"/api/comments?uri={quote(f'/t/{t}/', safe='')}&sort=oldest"


def zipf(threads: int, k: int) -> list[int]:
    weights = [1 / (rank + 1) ** 1.1 for rank in range(threads)]
    return random.choices(range(threads), weights=weights, k=k)


async def first_etags(pool: Pool, threads: set[int]) -> dict[int, str | None]:
    """Each thread's ETag as the embed's first load gets it (not measured)."""
    found: dict[int, str | None] = {}

    async def one(t: int) -> None:
        status, etag, _ = await pool.get(thread_path(t), None)
        assert status == 200, status
        found[t] = etag

    await asyncio.gather(*(one(t) for t in threads))
    return found


async def poll_pages(
    pool: Pool, pages: list[Page], seconds: float, post_every: float, threads: int
) -> dict:
    """Run the pages' schedule for ``seconds`` with posts; counts of what happened."""
    counts = {200: 0, 304: 0, "other": 0, "posts": 0}
    start = time.monotonic()
    heap = [(p.due, i) for i, p in enumerate(pages)]
    heapq.heapify(heap)
    inflight: set[asyncio.Task] = set()

    async def poll(page: Page) -> None:
        status, etag, _ = await pool.get(page.path, page.etag)
        if status == 200:
            page.etag, page.wait = etag, BASE
        elif status == 304:
            page.wait = min(page.wait * GROWTH, CAP)
        counts[status if status in (200, 304) else "other"] += 1
        page.due = time.monotonic() - start + page.wait * jitter()
        heapq.heappush(heap, (page.due, index[id(page)]))

    index = {id(p): i for i, p in enumerate(pages)}

    async def post() -> None:
        writer = Conn(pool.port)
        next_at = post_every
        for t in zipf(threads, 1 + int(seconds / post_every)):
            await asyncio.sleep(max(0.0, next_at - (time.monotonic() - start)))
            if time.monotonic() - start >= seconds:
                break
            body = json.dumps({"text": f"A new comment {next(POSTED)}", "author": "Bench"}).encode()
            head = (
                f"POST /api/comments?uri={quote(f'/t/{t}/', safe='')} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{pool.port}\r\n{CHROMIUM}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            )
            status, _, raw = await writer.send(head, body)
            assert status == 201, raw[:200]
            counts["posts"] += 1
            next_at += post_every

    poster = asyncio.create_task(post()) if post_every > 0 else None
    while True:
        now = time.monotonic() - start
        if now >= seconds:
            break
        while heap and heap[0][0] <= now:
            _, i = heapq.heappop(heap)
            task = asyncio.create_task(poll(pages[i]))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        await asyncio.sleep(min(0.01, max(0.0, (heap[0][0] - now) if heap else 0.01)))
    if poster:
        poster.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poster  # a refused post fails the run here
    await asyncio.gather(*inflight, return_exceptions=True)
    counts["seconds"] = time.monotonic() - start
    return counts


async def paced(pool: Pool, path: str, rate: float, seconds: float) -> dict:
    """``rate`` GETs a second of ``path`` for ``seconds``: the baseline's load."""
    counts = {"ok": 0}
    start, n, tasks = time.monotonic(), 0, set()

    async def one() -> None:
        status, _, _ = await pool.get(path, None)
        counts["ok"] += status == 200

    while (now := time.monotonic() - start) < seconds:
        while n / rate <= now:
            n += 1
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks, return_exceptions=True)
    counts["seconds"] = time.monotonic() - start
    counts["sent"] = n
    return counts


def measured(pid: int, run) -> tuple[dict, float]:
    """Run the coroutine ``run()``; what it returned and the server's CPU in % of one core."""
    before, started = cpu_seconds(pid), time.monotonic()
    result = asyncio.run(run())
    cpu = cpu_seconds(pid) - before
    return result, 100 * cpu / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0, help="per schedule")
    parser.add_argument("--threads", type=int, default=1000, help="threads of 10 comments")
    parser.add_argument("--post-every", type=float, default=2.0, help="seconds; 0: no posts")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if PINNING:  # the server is on core 0 (bench_suite's pinned()); the load on core 1
        os.sched_setaffinity(0, {1})
    random.seed(18)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "polling.db"
        build_sqlite(db, args.threads, 10)
        server, port = start_commentd(
            f"sqlite:///{db}", work, env={"COMMENTD_SERVER_ALLOWED_ORIGINS": ORIGIN}
        )
        try:
            pool = Pool(port, args.connections)
            picks = zipf(args.threads, args.pages)  # thread t is /t/{t}/
            time.sleep(1)
            _, idle = measured(server.pid, lambda: asyncio.sleep(10))
            rows.append(("commentd idle, 10 s", f"{idle:5.1f}% of one core"))
            rate = None
            for name, ages in [
                ("just opened", lambda: random.uniform(0, BASE)),
                ("steady", lambda: random.uniform(0, 600)),
            ]:

                async def run(ages=ages) -> dict:
                    pool.free = asyncio.Queue()
                    for _ in range(args.connections):
                        pool.free.put_nowait(Conn(port))
                    etags = await first_etags(pool, set(picks))
                    pages = []
                    for t in picks:
                        wait, due = schedule(ages())
                        pages.append(Page(thread_path(t), etags[t], wait, due))
                    return await poll_pages(
                        pool, pages, args.seconds, args.post_every, args.threads
                    )

                counts, cpu = measured(server.pid, run)
                reqs = counts[200] + counts[304] + counts["other"]
                per_s = reqs / counts["seconds"]
                rate = rate or per_s
                rows.append(
                    (
                        f"{args.pages:,} pages, {name}",
                        f"{per_s:6.1f} req/s ({counts[304]:,} x 304, {counts[200]:,} x 200, "
                        f"{counts['other']} other; {counts['posts']} posts): "
                        f"{cpu:5.1f}% of one core, "
                        f"{10 * cpu / max(per_s, 1e-9):.2f} ms CPU per request",
                    )
                )
        finally:
            stop(server)
        hello_port = free_port()
        hello = subprocess.Popen(pinned("server", [sys.executable, "-c", HELLO, str(hello_port)]))
        try:
            wait_for(hello_port, hello)
            hpool = Pool(hello_port, args.connections)
            counts, hcpu = measured(
                hello.pid, lambda: paced(hpool, "/", rate, min(args.seconds, 30))
            )
            per_s = counts["sent"] / counts["seconds"]
            rows.append(
                (
                    "hello-world WSGI, same server, same rate",
                    f"{per_s:6.1f} req/s: {hcpu:5.1f}% of one core, "
                    f"{10 * hcpu / per_s:.2f} ms CPU per request",
                )
            )
        finally:
            stop(hello)
    print(
        f"\nlive-update polling, {args.pages:,} open pages, {args.seconds:.0f} s per schedule"
        f"{'; server pinned to core 0, load to core 1' if PINNING else ''}"
    )
    for name, value in rows:
        print(f"  {name:<44} {value}")


if __name__ == "__main__":
    main()
