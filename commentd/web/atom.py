"""Atom 1.0 feeds (RFC 4287) of approved comments, built with ElementTree.

Every string a reader chose (names, titles, the comment's sanitized HTML) goes through
``xml_text`` and ElementTree's escaping, so no comment can break the feed: ``]]>``,
``<script>``, the control characters XML 1.0 forbids and lone surrogates included (the last
two become U+FFFD).

Ids: a feed's id is its own address on commentd; an entry's is a ``tag:`` URI (RFC 4151),
``tag:<site host>,<year the comment was written>:comment-<id>``, which changes only if the
site's host (``[site] url``, else ``[server] public_url``) does.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

from commentd.config import Config
from commentd.services.pages import page_url, permalink
from commentd.storage.queries import RecentRow
from commentd.version import __version__

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
ANONYMOUS = "Anonymous"
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
    config: Config, rows: list[RecentRow], *, title: str, self_url: str, alternate: str
) -> bytes:
    """The Atom document of ``rows`` (newest first)."""
    root = ET.Element("feed", {"xmlns": ATOM_NS})
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
        author = comment.author or ANONYMOUS
        entry = _add(root, "entry")
        _add(entry, "id", f"tag:{host},{comment.created.year}:comment-{comment.id}")
        _add(entry, "title", f"{author} on {row.title or row.uri}")
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=permalink(config, row.uri, comment.id),
        )
        person = _add(entry, "author")
        _add(person, "name", author)
        if comment.website:
            _add(person, "uri", comment.website)
        _add(entry, "published", _when(comment.created))
        _add(entry, "updated", _when(comment.modified or comment.created))
        _add(entry, "content", comment.html, type="html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def thread_feed(config: Config, uri: str, rows: list[RecentRow]) -> bytes:
    title = rows[0].title if rows and rows[0].title else uri
    return feed(
        config,
        rows,
        title=f"Comments on {title}",
        self_url=f"{config.public_url}/feed/thread.atom?uri={quote(uri, safe='/')}",
        alternate=page_url(config, uri),
    )


def recent_feed(config: Config, rows: list[RecentRow]) -> bytes:
    return feed(
        config,
        rows,
        title=f"Recent comments on {site_host(config)}",
        self_url=f"{config.public_url}/feed/recent.atom",
        alternate=(config.site.url.rstrip("/") or config.public_url) + "/",
    )
