"""Atom 1.0 feeds (RFC 4287) of approved comments, built with ElementTree.

Every string a reader chose (names, titles, the comment's sanitized HTML) goes through
``xml_text`` and ElementTree's escaping, so no comment can break the feed: ``]]>``,
``<script>``, the control characters XML 1.0 forbids and lone surrogates included (the last
two become U+FFFD).

Ids: a feed's id is its own address on commentd; an entry's is a ``tag:`` URI (RFC 4151),
``tag:<site host>,<year the comment was written>:comment-<id>``, which changes only if the
site's host (``[site] url``, else ``[server] public_url``) does.

A Webmention reply or mention links to the page it came from (``<link rel="via">``), its
author's ``uri`` being their site; likes, reposts and bookmarks are not comments, so not
entries. Only http(s) URLs are written as links.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

from commentd.config import Config
from commentd.services.i18n import translator
from commentd.services.pages import page_url, permalink
from commentd.storage.queries import RecentRow
from commentd.version import __version__
from commentd.web.serialize import web_url

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
EMPTY_UPDATED = "1970-01-01T00:00:00Z"
# what XML 1.0 forbids (most C0 controls, U+FFFE/U+FFFF) and lone surrogates
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", value)


def _when(moment) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def site_host(config: Config) -> str:
    """The host in entry ids: the blog's, else commentd's own."""
    return urlsplit(config.site.url or config.public_url).hostname or "localhost"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def feed(
    config: Config,
    rows: list[RecentRow],
    *,
    title: str,
    self_url: str,
    alternate: str,
    lang: str = "en",
) -> bytes:
    """The Atom document of ``rows`` (newest first), its own words in ``lang``."""
    t = translator(lang)
    root = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": lang})
    _add(root, "id", self_url)
    _add(root, "title", title)
    updated = max(
        (_when(row.comment.modified or row.comment.created) for row in rows), default=None
    )
    _add(root, "updated", updated or EMPTY_UPDATED)
    _add(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(root, "link", rel="alternate", type="text/html", href=alternate)
    _add(root, "generator", "commentd", version=__version__)
    host = site_host(config)
    for row in rows:
        comment = row.comment
        author = comment.author or t("anonymous")
        entry = _add(root, "entry")
        _add(entry, "id", f"tag:{host},{comment.created.year}:comment-{comment.id}")
        _add(entry, "title", t("feed_entry_title", author=author, title=row.title or row.uri))
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=permalink(config, row.uri, comment.id),
        )
        source = web_url(comment.source)
        if source:
            _add(entry, "link", rel="via", type="text/html", href=source)
        person = _add(entry, "author")
        _add(person, "name", author)
        website = web_url(comment.website) if source else comment.website
        if website:
            _add(person, "uri", website)
        _add(entry, "published", _when(comment.created))
        _add(entry, "updated", _when(comment.modified or comment.created))
        _add(entry, "content", comment.html, type="html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _lang_query(lang: str) -> str:
    return "" if lang == "en" else f"lang={quote(lang)}"


def thread_feed(config: Config, uri: str, rows: list[RecentRow], lang: str = "en") -> bytes:
    title = rows[0].title if rows and rows[0].title else uri
    query = "&".join(filter(None, [f"uri={quote(uri, safe='/')}", _lang_query(lang)]))
    return feed(
        config,
        rows,
        title=translator(lang)("feed_thread_title", title=title),
        self_url=f"{config.public_url}/feed/thread.atom?{query}",
        alternate=page_url(config, uri),
        lang=lang,
    )


def recent_feed(config: Config, rows: list[RecentRow], lang: str = "en") -> bytes:
    query = _lang_query(lang)
    return feed(
        config,
        rows,
        title=translator(lang)("feed_recent_title", site=site_host(config)),
        self_url=f"{config.public_url}/feed/recent.atom" + (f"?{query}" if query else ""),
        alternate=(config.site.url.rstrip("/") or config.public_url) + "/",
        lang=lang,
    )
