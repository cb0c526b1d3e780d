"""Benchmark of ``commentd import`` on a generated Disqus export; a script, not a test.

    .venv/bin/python tests/bench/bench_import.py [COMMENTS]   # default 100,000

Generates a Disqus export (1 thread per 100 comments, a third of them replies, some unicode
and HTML), then times, in the same run and on the same file:

- parse only: the streaming XML reader alone (the floor for reading the file at all);
- raw insert: the same rows written with sqlite3 ``executemany`` in one transaction, no
  sanitizing and no checks (the floor for storing them);
- commentd import: the real thing, into a fresh SQLite database (WAL, full sync).

Prints comments per second, each figure as a ratio to the floors, and the peak resident
memory of the process that ran the import (a fresh one, interpreter included).
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from commentd.config import load_config
from commentd.services.importers import Importer, disqus
from commentd.services.keys import Keys
from commentd.services.site import open_site
from commentd.storage.database import connection

WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "über",
    "straße",
    "naïve",
    "café",
    "日本語",
    "comment",
    "reply",
    "thanks",
]


def generate(path: Path, comments: int) -> None:
    rng = random.Random(42)
    threads = max(1, comments // 100)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n')
        out.write('<disqus xmlns="http://disqus.com" ')
        out.write('xmlns:dsq="http://disqus.com/disqus-internals">\n')
        for t in range(threads):
            out.write(
                f'<thread dsq:id="{t}"><link>https://blog.example.com/post-{t}/</link>'
                f"<title>Post {t}</title><createdAt>2020-01-01T00:00:00Z</createdAt>"
                "<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>\n"
            )
        for c in range(comments):
            thread = c % threads
            parent = ""
            if c >= threads and rng.random() < 0.33:
                parent = f'<parent dsq:id="{c - threads}" />'
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
            out.write(
                f'<post dsq:id="{c}"><message><![CDATA[<p>{text} <b>#{c}</b> '
                f'<a href="https://example.org/{c}">link</a></p>]]></message>'
                f"<createdAt>2020-02-{1 + c % 28:02d}T10:{c % 60:02d}:00Z</createdAt>"
                "<isDeleted>false</isDeleted><isSpam>false</isSpam>"
                f"<author><name>User {c % 977}</name><email>u{c % 977}@example.com</email>"
                f"</author><ipAddress>198.51.{c % 200}.{c % 250}</ipAddress>"
                f'<thread dsq:id="{thread}" />{parent}</post>\n'
            )
        out.write("</disqus>\n")


def parse_only(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    with open(path, "rb") as handle:
        count = sum(1 for record in disqus.read(handle) if type(record).__name__ == "CommentRecord")
    return time.perf_counter() - start, count


def raw_insert(path: Path, work: Path) -> float:
    with open(path, "rb") as handle:
        rows = [
            (r.thread_key, r.html, r.author, r.email, str(r.created))
            for r in disqus.read(handle)
            if type(r).__name__ == "CommentRecord"
        ]
    db = sqlite3.connect(work / "raw.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, t, html, author, email, created)")
    start = time.perf_counter()
    with db:
        db.executemany("INSERT INTO c (t, html, author, email, created) VALUES (?,?,?,?,?)", rows)
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def _import_in_child(path: Path, work: Path, out) -> None:
    config = load_config(
        None,
        environ={},
        overrides={
            "database.url": f"sqlite:///{work / 'commentd.db'}",
            "security.secret": "s" * 40,
        },
    )
    open_site(config)
    importer = Importer(config, Keys.from_secret(config.security.secret))
    start = time.perf_counter()
    with connection():
        summary = importer.run(path)
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.send((elapsed, rss, summary.comments_imported, summary.skipped_total))


def commentd_import(path: Path, work: Path) -> tuple[float, int, int, int]:
    """The import in a fresh process, so its peak RSS is its own: (s, bytes, imported, skipped)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_import_in_child, args=(path, work, send))
    child.start()
    result = receive.recv()
    child.join()
    return result


def main() -> None:
    comments = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export = work / "disqus.xml"
        generate(export, comments)
        size = export.stat().st_size
        print(f"export: {comments:,} comments, {size / 1e6:.1f} MB")
        import_s, rss, imported, skipped = commentd_import(export, work)
        parse_s, parsed = parse_only(export)
        raw_s = raw_insert(export, work)
        assert imported == parsed == comments, (imported, parsed)
        floor = parse_s + raw_s
        print(f"{'':24}{'seconds':>9}{'comments/s':>13}{'x floor':>9}")
        for name, seconds in (
            ("parse only", parse_s),
            ("raw sqlite insert", raw_s),
            ("floor (parse + insert)", floor),
            ("commentd import", import_s),
        ):
            print(f"{name:24}{seconds:9.2f}{comments / seconds:13,.0f}{seconds / floor:9.2f}")
        print(f"import process peak RSS: {rss / 2**20:.0f} MiB (interpreter included)")
        print(f"skipped: {skipped}")


if __name__ == "__main__":
    main()
