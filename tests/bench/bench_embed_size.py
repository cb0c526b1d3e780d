"""Size of the embed as browsers download it; a script, not a test.

    .venv/bin/python tests/bench/bench_embed_size.py

Prints the gzipped size (Python's gzip, level 9) of embed.js + embed.css together and of
count.js, each as a share of its budget (15 KB and 1.5 KB gzipped), next to a baseline
measured in the same run: the same files with comments and indentation stripped by a naive
minifier. The baseline is what a build step could save at most cheaply; the embed ships its
readable source, so the "as shipped" column is the one held to the budget. Exits with 1 when a
budget is exceeded.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

JS_DIR = Path(__file__).resolve().parents[2] / "commentd" / "static" / "js"
BUDGETS = {  # name -> (files, budget in gzipped bytes)
    "embed.js + embed.css": (("embed.js", "embed.css"), 15 * 1024),
    "count.js": (("count.js",), 1536),
}


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def naive_minify(text: str, name: str) -> str:
    """Drop comments, indentation and blank lines. Naive: a "//" or "/*" inside a string or a
    regular expression would be cut too, so this is a baseline, not a tool to ship with."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    if name.endswith(".js"):
        text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    lines = (line.strip() for line in text.splitlines())
    text = "\n".join(line for line in lines if line)
    if name.endswith(".css"):
        text = re.sub(r"\s*([{}:;,>])\s*", r"\1", text).replace(";}", "}")
    return text


def main() -> int:
    rows = []
    over = False
    for label, (names, budget) in BUDGETS.items():
        sources = [(name, (JS_DIR / name).read_text(encoding="utf-8")) for name in names]
        raw = sum(len(text.encode()) for _, text in sources)
        # Each file is downloaded (and gzipped) on its own; the budget is their sum.
        shipped = sum(gzipped(text.encode()) for _, text in sources)
        minified = sum(gzipped(naive_minify(text, name).encode()) for name, text in sources)
        over |= shipped > budget
        rows.append((label, raw, shipped, budget, minified))

    header = ("files", "raw B", "gzip B", "budget B", "of budget", "minified gzip B", "saving")
    table = [header] + [
        (
            label,
            f"{raw:,}",
            f"{shipped:,}",
            f"{budget:,}",
            f"{shipped / budget:.0%}",
            f"{minified:,}",
            f"{1 - minified / shipped:.0%}",
        )
        for label, raw, shipped, budget, minified in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    if over:
        print("\nOVER BUDGET")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
