"""Benchmark of ``commentd import`` on generated exports; a script, not a test.

    .venv/bin/python tests/bench/bench_import.py [COMMENTS ...] [--formats disqus,wordpress,json]

For each size (default 100,000) and format it generates a realistic export (one thread per
100 comments, a third of the comments replies, 977 authors with emails and websites, HTML
messages with links and emphasis, some unicode), then times, in the same run and on the same
file:

- the floor: parsing the file with ``xml.etree.ElementTree.iterparse`` (or ``json.loads``
  per line) and reading each comment's fields, nothing else;
- commentd import: the real thing, into a fresh SQLite database, in a fresh process (its
  peak resident memory is its own, interpreter included).

Prints comments per second for both and the import's time as a multiple of the floor's.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from xml.etree.ElementTree import iterparse
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from commentd.config import load_config
from commentd.services.importers import Importer
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
DISQUS = "{http://disqus.com}"
WP = "{http://wordpress.org/export/1.2/}"


def _comments(count: int):
    """(id, thread, parent or None, html, author number, day, minute) of each comment."""
    rng = random.Random(42)
    threads = max(1, count // 100)
    for c in range(count):
        parent = c - threads if c >= threads and rng.random() < 0.33 else None
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
        html = f'<p>{text} <b>#{c}</b> <a href="https://example.org/{c}">link</a></p>'
        yield c, c % threads, parent, html, c % 977, 1 + c % 28, c % 60


def write_disqus(path: Path, count: int) -> None:
    threads = max(1, count // 100)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" ')
        out.write('xmlns:dsq="http://disqus.com/disqus-internals">\n')
        for t in range(threads):
            out.write(
                f'<thread dsq:id="{t}"><link>https://blog.example.com/post-{t}/?utm=x</link>'
                f"<title>Post {t}</title><createdAt>2020-01-01T00:00:00Z</createdAt>"
                "<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>\n"
            )
        for c, thread, parent, html, user, day, minute in _comments(count):
            ref = f'<parent dsq:id="{parent}" />' if parent is not None else ""
            out.write(
                f'<post dsq:id="{c}"><message><![CDATA[{html}]]></message>'
                f"<createdAt>2020-02-{day:02d}T10:{minute:02d}:00Z</createdAt>"
                "<isDeleted>false</isDeleted><isSpam>false</isSpam>"
                f"<author><name>User {user}</name><email>u{user}@example.com</email>"
                f"</author><ipAddress>198.51.{c % 200}.{c % 250}</ipAddress>"
                f'<thread dsq:id="{thread}" />{ref}</post>\n'
            )
        out.write("</disqus>\n")


def write_wordpress(path: Path, count: int) -> None:
    threads = max(1, count // 100)
    by_thread: dict[int, list] = {t: [] for t in range(threads)}
    for comment in _comments(count):
        by_thread[comment[1]].append(comment)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" ')
        out.write('xmlns:content="http://purl.org/rss/1.0/modules/content/" ')
        out.write('xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>Blog</title>\n')
        for t, comments in by_thread.items():
            out.write(
                f"<item><title>Post {t}</title><link>https://blog.example.com/post-{t}/</link>"
                f"<wp:post_id>{t}</wp:post_id><wp:post_date_gmt>2020-01-01 00:00:00"
                "</wp:post_date_gmt><wp:comment_status>open</wp:comment_status>\n"
            )
            for c, _, parent, html, user, day, minute in comments:
                out.write(
                    f"<wp:comment><wp:comment_id>{c}</wp:comment_id>"
                    f"<wp:comment_author>User {user}</wp:comment_author>"
                    f"<wp:comment_author_email>u{user}@example.com</wp:comment_author_email>"
                    f"<wp:comment_author_url>https://u{user}.example.net/</wp:comment_author_url>"
                    f"<wp:comment_author_IP>198.51.{c % 200}.{c % 250}</wp:comment_author_IP>"
                    f"<wp:comment_date_gmt>2020-02-{day:02d} 10:{minute:02d}:00"
                    f"</wp:comment_date_gmt><wp:comment_content>{escape(html)}"
                    "</wp:comment_content><wp:comment_approved>1</wp:comment_approved>"
                    f"<wp:comment_parent>{parent if parent is not None else 0}"
                    "</wp:comment_parent></wp:comment>\n"
                )
            out.write("</item>\n")
        out.write("</channel></rss>\n")


def write_json(path: Path, count: int) -> None:
    threads = max(1, count // 100)
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps({"format": "commentd-export", "version": 1}) + "\n")
        for t in range(threads):
            out.write(json.dumps({"type": "thread", "id": t, "uri": f"/post-{t}/"}) + "\n")
        for c, thread, parent, html, user, day, minute in _comments(count):
            text = html.replace("<p>", "").replace("</p>", "").replace("<b>", "**")
            item = {
                "type": "comment",
                "id": c,
                "thread": thread,
                "parent": parent,
                "status": "approved",
                "author": f"User {user}",
                "email": f"u{user}@example.com",
                "text": text.replace("</b>", "**"),
                "html": html.replace("b>", "strong>"),  # as commentd's own export has it
                "created": f"2020-02-{day:02d}T10:{minute:02d}:00Z",
                "likes": c % 3,
            }
            out.write(json.dumps(item, ensure_ascii=False) + "\n")


def floor_xml(path: Path, record: str, fields: tuple[str, ...]) -> int:
    """iterparse, reading each comment's fields; the floor for an XML format."""
    count = 0
    for _, element in iterparse(path, events=("end",)):  # noqa: S314 - our own file
        if element.tag == record:
            values = [element.findtext(name) for name in fields]
            count += values[0] is not None
            element.clear()
    return count


def floor_json(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            item = json.loads(line)
            count += item.get("type") == "comment" and item["text"] is not None
    return count


FORMATS = {
    "disqus": (
        write_disqus,
        lambda p: floor_xml(
            p, DISQUS + "post", tuple(DISQUS + f for f in ("message", "createdAt", "author"))
        ),
    ),
    "wordpress": (
        write_wordpress,
        lambda p: floor_xml(
            p,
            WP + "comment",
            tuple(WP + f for f in ("comment_content", "comment_author", "comment_date_gmt")),
        ),
    ),
    "json": (write_json, floor_json),
}


def peak_rss() -> int:
    """This process's peak resident memory in bytes. Linux's ``VmHWM``, not ``ru_maxrss``:
    that one survives ``exec`` and so would count the benchmark's own memory at the spawn."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


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
    rss = peak_rss()
    out.send((elapsed, rss, summary.comments_imported, summary.skipped_total))


def commentd_import(path: Path, work: Path) -> tuple[float, int, int, int]:
    """The import in a fresh process, so its peak RSS is its own: (s, bytes, imported, skipped)."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_import_in_child, args=(path, work, send))
    child.start()
    result = receive.recv()
    child.join()
    return result


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sizes = [int(a.replace(",", "").replace("_", "")) for a in args] or [100_000]
    chosen = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--formats=")), "")
    formats = chosen.split(",") if chosen else list(FORMATS)
    print(
        f"{'format':10}{'comments':>10}{'MB':>7}{'floor s':>9}{'floor/s':>10}"
        f"{'import s':>10}{'import/s':>10}{'x floor':>9}{'RSS MiB':>9}"
    )
    for size in sizes:
        for name in formats:
            write, floor = FORMATS[name]
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                export = work / f"export.{name}"
                write(export, size)
                megabytes = export.stat().st_size / 1e6
                start = time.perf_counter()
                parsed = floor(export)
                floor_s = time.perf_counter() - start
                import_s, rss, imported, skipped = commentd_import(export, work)
                assert imported == parsed == size, (name, imported, parsed, skipped)
                print(
                    f"{name:10}{size:>10,}{megabytes:7.0f}{floor_s:9.2f}{size / floor_s:10,.0f}"
                    f"{import_s:10.2f}{size / import_s:10,.0f}{import_s / floor_s:9.2f}"
                    f"{rss / 2**20:9.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
