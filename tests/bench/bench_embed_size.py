"""Size of the embed as commentd sends it; a script, not a test.

    .venv/bin/python tests/bench/bench_embed_size.py

For the embed (embed.js + embed.css + the largest translation) and for count.js, prints the
bytes commentd sends to a browser (each file minified and compressed exactly as
``commentd.web.assets`` prepares it: Brotli, which browsers take over HTTPS and on localhost,
and gzip, for a client that takes only that), each as a share of its budget (15 KB and
1.5 KB), next to a baseline measured in the same run: the same files' readable source gzipped
at level 9, what a plain static server with gzip on would send. The budget is for what a
browser gets (Brotli); exits with 1 when it is exceeded.
tests/browser/test_embed_size.py checks the same budgets from Chromium's network log.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from commentd.web.assets import brotli_of, prepared
from commentd.web.compression import compress

JS_DIR = Path(__file__).resolve().parents[2] / "commentd" / "static" / "js"


def sent(path: Path) -> int:
    """Bytes sent to a browser that takes Brotli."""
    body = prepared(path)
    packed = brotli_of(body)
    return len(packed if packed is not None else body)


def sent_gzip(path: Path) -> int:
    """Bytes sent to a client that takes gzip only."""
    body = prepared(path)
    packed = compress(body)
    return len(packed if packed is not None else body)


def source_gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def main() -> int:
    translation = max(sorted((JS_DIR / "i18n").glob("*.json")), key=sent)
    budgets = {  # label -> (files, budget in bytes on the wire)
        f"embed.js + embed.css + i18n/{translation.name}": (
            (JS_DIR / "embed.js", JS_DIR / "embed.css", translation),
            15 * 1024,
        ),
        "count.js": ((JS_DIR / "count.js",), 1536),
    }
    header = (
        "files",
        "raw B",
        "source gzip B",
        "sent br B",
        "vs source",
        "sent gzip B",
        "vs source",
        "budget B",
        "of budget",
    )
    table = [header]
    over = False
    for label, (files, budget) in budgets.items():
        raw = sum(path.stat().st_size for path in files)
        baseline = sum(source_gzipped(path) for path in files)
        shipped = sum(sent(path) for path in files)
        in_gzip = sum(sent_gzip(path) for path in files)
        over |= shipped > budget
        table.append(
            (
                label,
                f"{raw:,}",
                f"{baseline:,}",
                f"{shipped:,}",
                f"{shipped / baseline:.2f}",
                f"{in_gzip:,}",
                f"{in_gzip / baseline:.2f}",
                f"{budget:,}",
                f"{shipped / budget:.0%}",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        cells = zip(row, widths, strict=True)
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    if over:
        print("\nOVER BUDGET")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
