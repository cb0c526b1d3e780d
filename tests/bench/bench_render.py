"""Benchmark of ``commentd.services.render.render``; a script, not a test.

    .venv/bin/python tests/bench/bench_render.py

Every figure is set against baselines measured in the same run, so the ratios hold on any
machine: ``html.escape`` + ``<p>`` wrapping of the same text (the cost floor of turning text
into HTML at all), markdown-it alone (same configuration, no nh3) and nh3 alone on
markdown-it's output: the last column shows each stage's share of ``render()``. Runs in
about 20-30 s.
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from commentd.services import render as render_module

MAX_COMMENT_LENGTH = 10_000
BATCH_SECONDS = 0.04  # one timed batch; the best of REPEATS batches counts
REPEATS = 6

REALISTIC = [
    """Thanks for the write-up! I ran into the same problem last week.

The fix that worked for me was pinning the version, see
[the changelog](https://example.com/changelog#v2) for details:

```python
import widget

widget.configure(retries=3, timeout=2.5)
```

A few things to check first:

- is the cache warm?
- does `WIDGET_HOME` point at the right place?
- are you on **2.x**?

Cheers, and *good luck*. Let us know here whether that fixed it for you too.""",
    """> Is there a way to do this without a plugin?

Yes: www.example.org/docs explains it. Short version:

1. open the settings
2. turn on ~~legacy~~ compact mode
3. restart

If it still fails, mail me at someone@example.com or paste the output of
`tool --version` here. I keep a list of known issues at https://example.com/issues,
it is updated every week and has workarounds for most of them. Happy to help, and
thanks for the detailed report: it made this much easier to reproduce.""",
    """I disagree with the second point, for three reasons.

First, the benchmark only covers one machine; second, the numbers in the table do not add
up (**42 %** vs 38 %); third, the code sample leaves out error handling:

    try:
        run()
    except Error:
        pass

Still a *useful* post. See also [my reply](https://example.com/reply) and
![the chart](https://example.com/chart.png) I made from the same data; the raw numbers are
in the comments of that page if you want to check them.""",
]


# Plain prose, which most comments are: rendered without the parser (``render._prose``).
PROSE = [
    "Great post, thanks! I tried it on my own blog and it worked the first time.",
    """I have been reading this blog for years and this is one of the best posts yet.

One question though: did you try it with more than one server? We run three behind a load
balancer and I wonder whether the same numbers hold there. Thanks again for sharing it.""",
    "Agreed with everything except the last part (the one about caching). Why not use both?",
]


def _fill(unit: str) -> str:
    return (unit * (MAX_COMMENT_LENGTH // len(unit) + 1))[:MAX_COMMENT_LENGTH]


PATHOLOGICAL = {
    "brackets [": _fill("["),
    "image openers ![": _fill("!["),
    "link openers [](": _fill("[]("),
    "emphasis *a": _fill("*a"),
    "underscores _a": _fill("_a"),
    "blockquotes > ": _fill("> "),
    "ordered lists 1. ": _fill("1. a\n"),
    "backticks ``a": _fill("``a"),
    "char refs &#": _fill("&#"),
    "tags <a": _fill("<a"),
    "lines a\\n": _fill("a\n"),
    "prose words": _fill("Word, word "),
    "schemes http://": _fill("http://"),
    "brackets + tail": ("![" * 20 + "_a" * MAX_COMMENT_LENGTH)[: MAX_COMMENT_LENGTH - 1] + "]",
}


def escape_floor(text: str) -> str:
    """The cheapest safe rendering: escaped text in one paragraph."""
    return "<p>" + html.escape(text) + "</p>\n"


_MARKDOWN_HTML: dict[str, str] = {}  # text -> markdown-it's HTML, for the nh3-only row


def sanitize_only(text: str) -> str:
    return render_module._CLEANER.clean(_MARKDOWN_HTML[text])


IMPLEMENTATIONS: list[tuple[str, Callable[[str], str]]] = [
    ("escape + <p>", escape_floor),
    ("markdown-it only", render_module._MD.render),
    ("nh3 only", sanitize_only),
    ("render()", render_module.render),
]


def _batch(function: Callable[[str], str], texts: list[str], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        for text in texts:
            function(text)
    return time.perf_counter() - started


def seconds_per_call(texts: list[str]) -> dict[str, float]:
    """Best per-call time of every implementation on ``texts``.

    Batches of about ``BATCH_SECONDS``; the implementations take turns, ``REPEATS`` rounds,
    so a machine that speeds up or slows down during the run affects them all alike."""
    calls = {}
    for name, function in IMPLEMENTATIONS:
        calls[name] = 1
        while _batch(function, texts, calls[name]) < BATCH_SECONDS:
            calls[name] *= 2
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(REPEATS):
        for name, function in IMPLEMENTATIONS:
            elapsed = _batch(function, texts, calls[name]) / (calls[name] * len(texts))
            best[name] = min(best[name], elapsed)
    return best


def human(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} µs"


def main() -> None:
    cases = [(f"realistic x{len(REALISTIC)}", REALISTIC), (f"plain prose x{len(PROSE)}", PROSE)]
    cases += [(name, [text]) for name, text in PATHOLOGICAL.items()]
    for _, texts in cases:
        _MARKDOWN_HTML.update((text, render_module._MD.render(text)) for text in texts)
    sizes = ", ".join(str(len(text)) for text in REALISTIC)
    print(f"render() benchmark, Python {sys.version.split()[0]}")
    print(f"realistic comments: {sizes} characters; pathological: {MAX_COMMENT_LENGTH:,}")
    print("x floor: time / time of escape + <p> on the same text")
    print()
    header = f"{'case':<18} {'stage':<17} {'per call':>11} {'calls/s':>10} {'x floor':>8}"
    header += f" {'of render()':>11}"
    print(header)
    print("-" * len(header))
    started = time.perf_counter()
    worst = 0.0
    for case, texts in cases:
        times = seconds_per_call(texts)
        floor, full = times["escape + <p>"], times["render()"]
        for row, (name, _) in enumerate(IMPLEMENTATIONS):
            seconds = times[name]
            print(
                f"{case if row == 0 else '':<18} {name:<17} {human(seconds)} "
                f"{1 / seconds:>10,.0f} {seconds / floor:8.1f} {seconds / full:>10.0%}"
            )
        if case in PATHOLOGICAL:
            worst = max(worst, full)
    print()
    print(f"slowest pathological render(): {worst * 1e3:.1f} ms (the tests allow 250 ms)")
    print(f"benchmark took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
