"""Real-browser tests of the embed: Playwright (sync API) driving Debian's headless Chromium.

The blog page is served from its own origin (a tiny ``http.server`` on another port), and its
script tag points at the live API server from ``tests/conftest.py``, as on a real blog: every
API call the embed makes is a cross-origin request.

- ``browser`` (session): one Chromium for the whole session. No Chromium or no Playwright is a
  skip with the reason, which CI turns into a failure.
- ``site`` (function): builds an app allowing the page's origin, installs it behind the live
  server and returns a :class:`Site` that writes test pages and posts comments over HTTP.
- ``context`` / ``page`` (function): a fresh browser context per test. The page records page
  errors and console errors; every request of the context is recorded too.

Only the selectors, localStorage keys and i18n keys of ``/work/contract/embed-contract.md``
are used. Screenshots of failing tests go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from commentd.config import Config
from tests.conftest import Client

REPO = Path(__file__).resolve().parents[2]
I18N_DIR = REPO / "commentd" / "static" / "js" / "i18n"
SCREENSHOTS = REPO / "test-output" / "screenshots"
AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("COMMENTD_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session; a skip (a failure in CI) when it is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: pip install -e '.[dev]'")
    manager = sync_playwright().start()
    try:
        instance = manager.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Exception as error:
        manager.stop()
        pytest.skip(f"Chromium at {CHROMIUM} does not start under Playwright: {error}")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    yield instance
    instance.close()
    manager.stop()


# --- the blog's origin: a static server for generated pages -----------------------------------


class PageServer:
    """Serves the pages a test registered, from 127.0.0.1 on a port of its own."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.requested: list[str] = []
        pages, requested = self.pages, self.requested

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                requested.append(path)
                body = pages.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                    body = b"not found"
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.pages.clear()
        self.requested.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


PAGE = """<!doctype html>
<html{lang_attr}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem;
  color: #1a1a1a; background: #fff; }}
{style}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
{scripts}
</body>
</html>
"""


@dataclasses.dataclass
class Site:
    """The blog (page origin) and the commentd server (API origin) of one test."""

    api: Client
    config: Config
    pages: PageServer

    @property
    def api_origin(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"

    @property
    def page_origin(self) -> str:
        return self.pages.origin

    def script(self, name: str = "embed.js") -> str:
        return f'<script src="{self.api_origin}/js/{name}" defer></script>'

    def add_page(
        self,
        path: str = "/post/",
        body: str | None = None,
        *,
        title: str = "A blog post",
        lang: str | None = "en",
        scripts: str | None = None,
        style: str = "",
    ) -> str:
        """Serve a blog page at ``path`` and return its URL.

        ``body`` defaults to the text of a post and ``embed()``; ``scripts`` to embed.js.
        """
        if body is None:
            body = "<p>The text of the post.</p>\n" + embed()
        html = PAGE.format(
            lang_attr=f' lang="{lang}"' if lang else "",
            title=escape(title),
            style=style,
            body=body,
            scripts=self.script() if scripts is None else scripts,
        )
        self.pages.pages[path] = html.encode()
        return self.page_origin + path

    def comment(self, uri: str = "/post/", **fields: Any) -> dict[str, Any]:
        """Post a comment over HTTP (not through the browser); the created comment, with token."""
        res = self.api.post_comment(uri, **fields)
        assert res.status == 201, res.raw[:300]
        return {**res.json["comment"], "token": res.json["token"]}


def embed(uri: str | None = "/post/", element_id: str = "commentd", **data: str) -> str:
    """The mount element: ``<div id="commentd" data-uri=...>``; ``data`` gives more data-*."""
    attrs = [f'id="{element_id}"'] if element_id else []
    if uri is not None:
        attrs.append(f'data-uri="{escape(uri)}"')
    attrs += [f'data-{name.replace("_", "-")}="{escape(value)}"' for name, value in data.items()]
    return f"<div {' '.join(attrs)}></div>"


@pytest.fixture
def site(make_config, make_app, serve, page_server) -> Callable[..., Site]:
    """``site(**{"section.key": value})``: a server that allows the page's origin, and the pages."""
    page_server.reset()

    def make(**overrides: Any) -> Site:
        config = make_config(**{"server.allowed_origins": page_server.origin, **overrides})
        return Site(api=serve(make_app(config)), config=config, pages=page_server)

    return make


# --- contexts and pages ---------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item, so the page fixture can see a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def new_context(browser) -> Iterator[Callable[..., Any]]:
    """Make browser contexts (each with ``.requests``: every URL it asked for); closed after."""
    made = []

    def make(**options: Any) -> Any:
        options.setdefault("locale", "en-US")
        options.setdefault("viewport", {"width": 1000, "height": 800})
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.requests = []
        context.on("request", lambda request: context.requests.append(request))
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context) -> Any:
    return new_context()


def watch(page: Any) -> Any:
    """Record the page's uncaught errors and console errors in ``page.errors``."""
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            page.errors.append(f"console.{message.type}: {message.text}")
            if message.type in ("error", "assert")
            else None
        ),
    )
    return page


@pytest.fixture
def page(context, request) -> Iterator[Any]:
    """A page of this test's context; a screenshot of it is kept when the test fails."""
    page = watch(context.new_page())
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(SCREENSHOTS / f"failed-{name}.png"), full_page=True)
        except Exception as error:  # a broken page must not hide the test's own failure
            print(f"no screenshot of the failed test: {error}")


# --- what the reader should see -------------------------------------------------------------


def strings(lang: str) -> dict[str, Any]:
    """The embed's strings for ``lang`` from ``commentd/static/js/i18n/<lang>.json``."""
    return json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def plural(page: Any, lang: str, forms: dict[str, str] | str, n: int) -> str:
    """The plural form for ``n`` chosen as the embed must choose it, by Intl.PluralRules, with
    ``n`` written in the language's own digits (Arabic, Persian and Bengali have theirs)."""
    category, figure = page.evaluate(
        """([lang, n]) => [new Intl.PluralRules(lang).select(n),
                           new Intl.NumberFormat(lang).format(n)]""",
        [lang, n],
    )
    form = forms if isinstance(forms, str) else forms.get(category, forms["other"])
    return form.replace("{n}", figure)


def template_pattern(template: str) -> re.Pattern[str]:
    """A localized message with ``{placeholders}`` as a regex: the placeholders match anything."""
    parts = re.split(r"\{[a-z_]+\}", " ".join(template.split()))
    return re.compile(r"^\s*" + r".+?".join(re.escape(part) for part in parts) + r"\s*$")


def english_count(n: int) -> str:
    """The English heading the contract gives: "1 comment", "3 comments"."""
    return f"{n} comment" if n == 1 else f"{n} comments"


def wait_thread(page: Any, total: int, shown: int | None = None) -> None:
    """Wait until the embed has loaded a thread of ``total`` comments (English heading) and
    shows ``shown`` (default ``total``) ``article.cd-comment`` elements."""
    from playwright.sync_api import expect

    expect(page.locator("section.cd-root")).to_have_count(1)
    expect(page.locator("h2.cd-title")).to_have_text(re.compile(rf"\b{english_count(total)}\b"))
    expect(page.locator("article.cd-comment")).to_have_count(total if shown is None else shown)
    expect(page.locator("form.cd-composer.cd-main")).to_be_visible()


def no_page_errors(page: Any) -> None:
    """No uncaught exception in the page (console errors for refused requests are allowed)."""
    uncaught = [error for error in page.errors if error.startswith("pageerror")]
    assert not uncaught, uncaught


def deep_focus(page: Any) -> str:
    """A short description of the focused element, looking inside shadow roots."""
    return page.evaluate(
        """() => {
            let el = document.activeElement;
            while (el && el.shadowRoot && el.shadowRoot.activeElement) {
                el = el.shadowRoot.activeElement;
            }
            if (!el) return "";
            const form = el.closest("form");
            const where = form ? "." + [...form.classList].join(".") + " " : "";
            const name = el.getAttribute("name");
            return where + el.tagName.toLowerCase() + (name ? `[name=${name}]` : "")
                + [...el.classList].map((c) => "." + c).join("");
        }"""
    )


def colors(locator: Any) -> dict[str, list[int]]:
    """The element's text colour and the background it is painted on (the first ancestor,
    across shadow roots, with a background), as RGBA through a canvas, so any CSS colour
    syntax (rgb, oklch, color-mix...) comes back as numbers."""
    return locator.evaluate(
        """(el) => {
            const canvas = document.createElement("canvas");
            canvas.width = canvas.height = 1;
            const ctx = canvas.getContext("2d", {willReadFrequently: true});
            const rgba = (color) => {
                ctx.clearRect(0, 0, 1, 1);
                ctx.fillStyle = "#000";
                ctx.fillStyle = color;
                ctx.fillRect(0, 0, 1, 1);
                return [...ctx.getImageData(0, 0, 1, 1).data];
            };
            let node = el;
            let bg = null;
            while (node) {
                const color = rgba(getComputedStyle(node).backgroundColor);
                if (color[3] > 0) { bg = color; break; }
                const root = node.getRootNode();
                node = node.parentElement || (root instanceof ShadowRoot ? root.host : null);
            }
            return {bg: bg || [255, 255, 255, 255], fg: rgba(getComputedStyle(el).color)};
        }"""
    )


def luminance(rgba: list[int]) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[int], b: list[int]) -> float:
    """WCAG contrast ratio of two colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def local_json(page: Any, key: str) -> Any:
    """A localStorage value of the page's origin, parsed (None when absent)."""
    raw = page.evaluate("(key) => window.localStorage.getItem(key)", key)
    return None if raw is None else json.loads(raw)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
