"""Sending Webmentions (W3C Recommendation, sender side) for one of the blog's own pages.

``send(config, url)`` fetches the page (it must be under ``[site] url``), takes the links of
its content (the first ``h-entry``'s ``e-content`` when the page has one, else the first
``h-entry``, else the whole page), skips links to the site itself and anything not http(s),
discovers each target's endpoint and queues ``source=URL&target=LINK`` for it in the outbox
(kind ``webmention``), whose worker POSTs it with retries (``deliver``).

Endpoint discovery follows https://www.w3.org/TR/webmention/#sender-discovers-receiver-webmention-endpoint:
the target is fetched (redirects followed); an HTTP ``Link`` header with ``rel`` webmention
wins, else the first ``<link>`` or ``<a>`` with ``rel`` webmention and an ``href``, in document
order (an empty ``href`` is the page itself; comments are not elements). The endpoint is
resolved against the final URL after redirects and keeps its query string. Every fetch, and
the POST, goes through ``services.fetch`` with the ``[webmention]`` limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

from commentd.config import Config, WebmentionConfig
from commentd.errors import BadRequest, CommentdError, ValidationError
from commentd.services import outbox
from commentd.services.fetch import FetchError, Limits, fetch, limits_for
from commentd.storage.database import write_transaction

KIND = "webmention_send"  # the outbox messages that send one (receiving's verify: "webmention")
HTML_TYPES = ("", "text/html", "application/xhtml+xml")
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Outgoing:
    """One link of the page: its endpoint (``None`` when it has none), why none was found
    when the target could not be fetched, and whether a Webmention was queued for it."""

    target: str
    endpoint: str | None
    error: str | None = None
    queued: bool = False


# -- URLs ---------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, the port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port or default


def is_own(url: str, site_url: str) -> bool:
    """Whether ``url`` is on the site's host (and port), whatever its path or scheme."""
    return _origin(url)[1:] == _origin(site_url)[1:]


def under_site(url: str, site_url: str) -> bool:
    """Whether ``url`` is a page of the site: same scheme, host and port, below its path."""
    if _origin(url) != _origin(site_url):
        return False
    base = urlsplit(site_url).path.rstrip("/")
    path = urlsplit(url).path or "/"
    return path == base or path.startswith(base + "/")


def _http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https") and bool(urlsplit(url).hostname)


# -- the page's outgoing links --------------------------------------------------------------


def _classes(attrs: list[tuple[str, str | None]]) -> set[str]:
    return {name for key, value in attrs if key == "class" and value for name in value.split()}


class _Links(HTMLParser):
    """The ``<a href>``s of the whole page, of the first h-entry, and of its first e-content.

    A container ends at the end tag matching its start tag (same name, nesting counted), which
    is how microformats containers (div, article, section, main) are written.
    """

    VOID = frozenset(
        [
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "param",
            "source",
            "track",
            "wbr",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.page: list[str] = []
        self.entry: list[str] = []
        self.content: list[str] = []
        self.entry_seen = self.content_seen = False
        self._open: dict[str, list[Any]] = {}  # "entry"/"content" -> [tag, depth]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        for state in self._open.values():
            if tag == state[0]:
                state[1] += 1
        classes = _classes(attrs)
        if tag not in self.VOID:
            if "h-entry" in classes and not self.entry_seen:
                self.entry_seen = True
                self._open["entry"] = [tag, 1]
            if "e-content" in classes and "entry" in self._open and not self.content_seen:
                self.content_seen = True
                self._open["content"] = [tag, 1]
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.page.append(href)
                if "entry" in self._open:
                    self.entry.append(href)
                if "content" in self._open:
                    self.content.append(href)

    def handle_endtag(self, tag: str) -> None:
        for name, state in list(self._open.items()):
            if tag == state[0]:
                state[1] -= 1
                if state[1] == 0:
                    del self._open[name]


def outgoing_links(html: str, page_url: str, site_url: str) -> list[str]:
    """The http(s) links of a page's content, absolute, without fragments, each once, in
    order; links to the site itself are left out."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    hrefs = (
        parser.content
        if parser.content_seen
        else parser.entry
        if parser.entry_seen
        else parser.page
    )
    base = urljoin(page_url, parser.base) if parser.base else page_url
    found: list[str] = []
    for href in hrefs:
        url = urldefrag(urljoin(base, href.strip()))[0]
        if _http(url) and not is_own(url, site_url) and url not in found:
            found.append(url)
    return found


# -- endpoint discovery -----------------------------------------------------------------------

_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_PARAM = re.compile(r';\s*([^\s=;,]+)\s*=\s*(?:"([^"]*)"|([^\s;,]+))')


def _has_webmention(rel: str | None) -> bool:
    return bool(rel) and "webmention" in rel.lower().split()


def header_endpoint(values: Iterable[str]) -> str | None:
    """The first URL with rel webmention in ``Link`` header values (RFC 8288: several
    headers, several comma-separated links, quoted or bare ``rel``, any case), unresolved."""
    for value in values:
        for match in _LINK_VALUE.finditer(value):
            for param in _PARAM.finditer(match.group(2)):
                name, rel = param.group(1).lower(), param.group(2) or param.group(3)
                if name == "rel" and _has_webmention(rel):
                    return match.group(1).strip()
    return None


class _Endpoint(HTMLParser):
    """The ``href`` of the first ``<link>`` or ``<a>`` with rel webmention and an href."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.href is not None or tag not in ("link", "a"):
            return
        values = dict(attrs)
        if "href" in values and _has_webmention(values.get("rel")):
            self.href = values["href"] or ""  # <a href> without a value is href=""


def html_endpoint(html: str) -> str | None:
    """The first endpoint a page's ``<link>`` and ``<a>`` elements name, unresolved."""
    parser = _Endpoint()
    parser.feed(html)
    parser.close()
    return parser.href


def discover(target: str, limits: Limits) -> str | None:
    """``target``'s Webmention endpoint, absolute, or ``None`` when it names none (or none
    that is http(s)). Raises ``FetchError`` when the target cannot be fetched."""
    page = fetch(target, limits, headers={"Accept": "text/html, */*;q=0.5"})
    if not 200 <= page.status < 300:
        raise FetchError(f"{target[:200]} answered {page.status}.", code="fetch_failed")
    found = header_endpoint(page.header_links("Link"))
    if found is None and page.content_type in HTML_TYPES:
        found = html_endpoint(page.text())
    if found is None:
        return None
    endpoint = urldefrag(urljoin(page.url, found))[0]
    return endpoint if _http(endpoint) else None


# -- sending ------------------------------------------------------------------------------


def send(config: Config, url: str, *, dry_run: bool = False) -> list[Outgoing]:
    """Discover the endpoint of every outgoing link of the site's page ``url`` and queue a
    Webmention for each that has one (nothing is queued on ``dry_run``); call it with a
    database connection. Raises ``CommentdError``: ``no_site_url``, ``not_own_page``,
    ``page_unavailable``, or the ``FetchError`` of the page itself."""
    site_url = config.site.url
    if not site_url:
        raise ValidationError(
            "[site] url is not set; Webmentions are sent for the site's own pages.",
            code="no_site_url",
        )
    if not _http(url) or not under_site(url, site_url):
        raise BadRequest(
            f"{url[:200]} is not a page of the site ({site_url}); only the site's own pages "
            "send Webmentions.",
            code="not_own_page",
        )
    limits = limits_for(config.webmention)
    page = fetch(url, limits)
    if not 200 <= page.status < 300:
        raise BadRequest(f"{url[:200]} answered {page.status}.", code="page_unavailable")
    results = []
    for target in outgoing_links(page.text(), page.url, site_url):
        try:
            results.append(Outgoing(target, discover(target, limits)))
        except CommentdError as exc:
            results.append(Outgoing(target, None, error=exc.message))
    if dry_run:
        return results
    with write_transaction():
        for number, found in enumerate(results):
            if found.endpoint is not None:
                outbox.enqueue(KIND, found.endpoint, {"source": url, "target": found.target})
                results[number] = Outgoing(found.target, found.endpoint, queued=True)
    return results


def deliver(config: WebmentionConfig, endpoint: str, payload: dict[str, Any]) -> None:
    """POST a queued Webmention (``source`` and ``target``, form-encoded) to ``endpoint``
    (its query string kept); raises unless the answer is 2xx, so the outbox retries."""
    body = urlencode({"source": payload["source"], "target": payload["target"]}).encode()
    page = fetch(
        endpoint, limits_for(config), method="POST", body=body, headers={"Content-Type": FORM}
    )
    if not 200 <= page.status < 300:
        raise RuntimeError(f"{endpoint[:200]} answered {page.status}")
