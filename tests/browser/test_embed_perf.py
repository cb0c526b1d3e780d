"""Rendering speed: a 200-comment thread is on screen in under 100 ms once its data is in.

Measured inside the page: an init script wraps ``window.fetch`` to timestamp when each API
response body has been read, and hooks ``attachShadow`` to watch the embed's shadow root: a
MutationObserver timestamps the moment the 200th ``article.cd-comment`` exists, and a capturing
``load`` listener the moment its stylesheet is in. The render time is the gap between the last
of those arrivals (API bodies, stylesheet) before that moment and that moment.

The machine is small (2 cores) and shared, so wall-clock figures are noisy: the page is loaded
eight times and the best load must be under the budget (noise only ever adds time; a real
slowdown moves every load). All figures, and the time to the next frame, are printed.
"""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from commentd.storage.database import database_proxy
from commentd.storage.models import Comment, Thread, utcnow
from tests.browser.conftest import embed, no_page_errors, watch

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

TOP, REPLIES = 150, 50
TOTAL = TOP + REPLIES
BUDGET_MS = 100
LOADS = 8

MEASURE = """
(() => {
  const N = __TOTAL__;
  const marks = (window.__cdPerf = {reads: [], styled: [], rendered: null, painted: null});
  const fetch = window.fetch;
  window.fetch = function (...args) {
    return fetch.apply(this, args).then((response) => {
      for (const method of ["json", "text", "arrayBuffer", "blob"]) {
        const read = response[method].bind(response);
        response[method] = () =>
          read().then((value) => {
            marks.reads.push({url: response.url, at: performance.now()});
            return value;
          });
      }
      return response;
    });
  };
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    const styled = (event) => {
      if (event.target.tagName === "LINK") marks.styled.push(performance.now());
    };
    root.addEventListener("load", styled, true);
    const observer = new MutationObserver(() => {
      if (marks.rendered === null && root.querySelectorAll("article.cd-comment").length >= N) {
        marks.rendered = performance.now();
        observer.disconnect();
        requestAnimationFrame(() => setTimeout(() => (marks.painted = performance.now()), 0));
      }
    });
    observer.observe(root, {childList: true, subtree: true});
    return root;
  };
})();
""".replace("__TOTAL__", str(TOTAL))

TEXT = "A comment with *some* Markdown, a [link](https://example.org/) and `code`, number {n}."
HTML = (
    '<p>A comment with <em>some</em> Markdown, a <a href="https://example.org/" '
    'rel="nofollow ugc noopener">link</a> and <code>code</code>, number {n}.</p>\n'
)


def make_big_thread(uri: str) -> None:
    """150 top-level comments and 50 replies, written straight to the database."""
    thread = Thread.create(uri=uri, title="A long thread")
    start = utcnow() - dt.timedelta(days=2)

    def row(n: int, parent: int | None = None) -> dict:
        return {
            "thread": thread,
            "parent": parent,
            "author": f"Reader {n}",
            "email": f"reader{n}@example.com",
            "website": "https://example.org/" if n % 5 == 0 else None,
            "text": TEXT.format(n=n),
            "html": HTML.format(n=n),
            "created": start + dt.timedelta(minutes=n),
            "likes": n % 7,
            "dislikes": n % 3,
            "remote_addr": "192.0.2.0",
            "voter": f"voter-{n}",
        }

    with database_proxy.atomic():
        Comment.insert_many([row(n) for n in range(TOP)]).execute()
    parents = [
        c.id
        for c in Comment.select(Comment.id)
        .where(Comment.thread == thread)
        .order_by(Comment.created)
        .limit(REPLIES)
    ]
    with database_proxy.atomic():
        Comment.insert_many([row(TOP + i, parent) for i, parent in enumerate(parents)]).execute()


def test_200_comments_render_under_100ms(site, context):
    s = site(**{"comments.page_size": 200})
    make_big_thread("/big/")
    assert s.api.thread("/big/").json["thread"]["total"] == TOTAL
    url = s.add_page("/big/", body=embed("/big/"))
    context.add_init_script(MEASURE)

    figures = []
    for _ in range(LOADS):
        page = watch(context.new_page())
        page.goto(url)
        expect(page.locator("article.cd-comment")).to_have_count(TOTAL)
        page.wait_for_function("window.__cdPerf.painted !== null")
        marks = page.evaluate("window.__cdPerf")
        no_page_errors(page)
        page.close()

        rendered = marks["rendered"]
        assert rendered is not None, "the MutationObserver never saw 200 comments"
        api = [r for r in marks["reads"] if "/api/" in r["url"] and r["at"] <= rendered]
        assert any("/api/comments" in r["url"] for r in api), (
            f"no /api/comments body read through window.fetch before rendering: {marks['reads']}"
        )
        data_in = max([r["at"] for r in api] + [t for t in marks["styled"] if t <= rendered])
        figures.append((rendered - data_in, marks["painted"] - data_in))

    dom = [round(f[0], 1) for f in figures]
    frame = [round(f[1], 1) for f in figures]
    best, median = min(dom), statistics.median(dom)
    print(
        f"\n200-comment thread, {LOADS} loads: DOM built {dom} ms after the data arrived "
        f"(best {best}, median {median}); next frame {frame} ms after it"
    )
    assert best < BUDGET_MS, f"rendering took {dom} ms (best {best}), budget {BUDGET_MS} ms"
