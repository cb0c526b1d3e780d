"""Verifying a Webmention: the outbox handler for messages of kind ``webmention``.

The receiver (``webmention.py``) only records a Webmention; here, off the request path, its
source is fetched (``fetch.py``: bounded, public addresses only) and checked (W3C Webmention
§3.2.2: the source MUST link to the target), then read as microformats2 (mf2py):

- an ``h-entry`` whose ``in-reply-to`` names the target is a ``reply``; ``like-of``,
  ``repost-of`` and ``bookmark-of`` make a ``like``, ``repost`` or ``bookmark``; anything
  else that links to the target is a ``mention``;
- a reply or mention becomes a comment in the target's thread (``Comment.kind``, ``source``,
  ``photo``), screened as every comment is (``Screener``: blocklists, link limit, filter,
  Akismet, moderation mode, "first" keyed by the source's domain); the same source again
  updates that comment; a like, repost or bookmark is the verified row alone;
- a source that answers 4xx (410 Gone among them) or no longer links to the target removes
  its comment (erased as a moderator's delete is), and the row becomes ``deleted``;
- a source on a banned domain (``commentd ban domain``) is rejected before it is fetched.

What the fetcher refuses for good (a private address, a bad URL, too large, too many
redirects) rejects the Webmention; network trouble and 5xx answers raise, so the outbox tries
again later, and the last attempt rejects it. Nothing from the source is trusted: its HTML is
sanitized by ``render``, its text is escaped, its author's photo is only kept as a URL.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import mf2py

from commentd.config import Config
from commentd.errors import CommentdError
from commentd.services import bans, metrics, webmention
from commentd.services.clients import Client
from commentd.services.comments import bump_version, erase, thread_for_write
from commentd.services.events import Events
from commentd.services.fetch import FetchError, Page, fetch, limits_for
from commentd.services.render import render
from commentd.services.screening import Screener, Traps, check_links
from commentd.services.spam import Submission, checker_for
from commentd.storage.database import write_transaction
from commentd.storage.models import (
    Comment,
    OutboxMessage,
    OutboxStatus,
    Status,
    Webmention,
    text_hash,
    utcnow,
)

KIND = webmention.KIND
# What the fetcher refuses whatever the time: trying again would be refused again.
OUTCOMES = ("verified", "rejected", "deleted")  # counted in commentd_webmentions_total
FINAL_FETCH_ERRORS = frozenset(
    {"fetch_private_address", "fetch_bad_url", "fetch_too_large", "fetch_too_many_redirects"}
)
ENTRY_KINDS = (
    ("in-reply-to", "reply"),
    ("like-of", "like"),
    ("repost-of", "repost"),
    ("bookmark-of", "bookmark"),
)
COMMENT_KINDS = ("reply", "mention")  # the kinds that become a comment
MAX_URL = 1024
MAX_NAME = 256
MAX_ERROR = 512
HTML_TYPES = ("text/html", "application/xhtml+xml")
# The elements and attributes that link a page to another (the spec's examples and kin).
LINK_ATTRIBUTES = {
    "a": ("href",),
    "area": ("href",),
    "link": ("href",),
    "img": ("src",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "source": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "blockquote": ("cite",),
    "q": ("cite",),
    "ins": ("cite",),
    "del": ("cite",),
}
NO_LINK = "The source does not link to the target."
BANNED = "banned domain"
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


class SourceUnavailable(Exception):
    """The source could not be fetched this time (network trouble, a 5xx): try again later."""


def canonical(url: str | None) -> str | None:
    """``url`` as the receiver stores a target: lower-case scheme and host, ``/`` for an empty
    path, no fragment; None when it is not an http(s) URL."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders as that very text (every ASCII punctuation escaped)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def web_url(value: Any) -> str | None:
    """``value`` when it is an http(s) URL of at most ``MAX_URL`` characters, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > MAX_URL or any(ch.isspace() or not ch.isprintable() for ch in value):
        return None
    return value if canonical(value) is not None else None


# -- the link check ---------------------------------------------------------------------


class _Links(HTMLParser):
    """The URLs an HTML page links to (as written), its ``<base href>`` and its title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.base: str | None = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        for name in LINK_ATTRIBUTES.get(tag, ()):
            if values.get(name):
                self.urls.append(values[name])  # type: ignore[arg-type]
        self._in_title = tag == "title" and not self.title

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def is_html(page: Page) -> bool:
    """Whether the page is HTML (a page without a type is, when it looks like it)."""
    if page.content_type in HTML_TYPES:
        return True
    return not page.content_type and page.body.lstrip()[:1] == b"<"


def links_to(page: Page, target: str) -> bool:
    """Whether the fetched ``page`` links to ``target``: for HTML, an element's link
    (``LINK_ATTRIBUTES``) resolved against the page's URL (or its ``<base>``) that is the
    target exactly; for any other text (JSON, plain text), the target's URL in it."""
    wanted = canonical(target)
    if not is_html(page):
        return target in page.text()
    links = _Links()
    links.feed(page.text())
    base = urljoin(page.url, links.base) if links.base else page.url
    return any(canonical(urljoin(base, url.strip())) == wanted for url in links.urls)


# -- reading the h-entry ----------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What a source says about the target: the kind, its author, when, and its words."""

    kind: str
    author_name: str
    author_url: str | None
    author_photo: str | None
    published: dt.datetime
    text: str
    html: str

    def comment_fields(self) -> dict[str, Any]:
        """What a comment made from it takes from it (its author, words and kind)."""
        return {
            "author": self.author_name,
            "website": self.author_url,
            "photo": self.author_photo,
            "text": self.text,
            "text_hash": text_hash(self.text),
            "html": self.html,
            "kind": self.kind,
        }


def _first(values: Any) -> Any:
    return values[0] if isinstance(values, list) and values else None


def _text(value: Any) -> str:
    """A property value as plain text (an embedded item's or an e-* property's ``value``)."""
    if isinstance(value, dict):
        value = value.get("value")
    return value.strip() if isinstance(value, str) else ""


def _urls(values: Any) -> list[str]:
    """Every URL a property names: plain values, and an h-cite's ``url``s and value."""
    found: list[str] = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(
                u for u in value.get("properties", {}).get("url", []) if isinstance(u, str)
            )
            if isinstance(value.get("value"), str):
                found.append(value["value"])
    return found


def _items(parsed: dict[str, Any]) -> list[dict[str, Any]]:
    """The page's items and their children, in document order."""
    found: list[dict[str, Any]] = []
    for item in parsed.get("items", []):
        found.append(item)
        found.extend(child for child in item.get("children", []) if isinstance(child, dict))
    return found


def _the_entry(items: list[dict[str, Any]], target: str) -> tuple[dict[str, Any] | None, str]:
    """The h-entry about ``target`` and its kind: the first whose reply, like, repost or
    bookmark property names it; else the page's first h-entry, a mention."""
    wanted = canonical(target)
    entries = [item for item in items if "h-entry" in item.get("type", [])]
    for entry in entries:
        properties = entry.get("properties", {})
        for name, kind in ENTRY_KINDS:
            if any(canonical(url) == wanted for url in _urls(properties.get(name))):
                return entry, kind
    return (entries[0] if entries else None), "mention"


def _card(value: Any) -> dict[str, str | None]:
    """The name, url and photo of an author property (an h-card, or a name or URL)."""
    if isinstance(value, str):
        url = web_url(value)
        return {"name": None if url else value.strip() or None, "url": url, "photo": None}
    properties = value.get("properties", {}) if isinstance(value, dict) else {}
    photo = _first(properties.get("photo"))
    return {
        "name": _text(_first(properties.get("name"))) or None,
        "url": web_url(_first(properties.get("url"))),
        "photo": web_url(photo.get("value") if isinstance(photo, dict) else photo),
    }


def _representative_card(items: list[dict[str, Any]], page_url: str) -> dict[str, str | None]:
    """The page's representative h-card: the one whose url is the page's, else the only
    top-level one; empty when there is none."""
    cards = [item for item in items if "h-card" in item.get("type", [])]
    here = canonical(page_url)
    for card in cards:
        urls = card.get("properties", {}).get("url", []) + card.get("properties", {}).get("uid", [])
        if any(canonical(u) == here for u in urls if isinstance(u, str)):
            return _card(card)
    return _card(cards[0]) if len(cards) == 1 else {"name": None, "url": None, "photo": None}


def _published(value: Any, now: dt.datetime) -> dt.datetime:
    """An ISO 8601 date as naive UTC; ``now`` when missing, unreadable or in the future."""
    text = _text(value)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return now
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return min(moment, now)


def _words(properties: dict[str, Any], max_length: int) -> tuple[str, str]:
    """(text, sanitized HTML) of the entry: its e-content's HTML, else its p-content,
    summary or name as escaped text; cut to ``max_length`` characters with an ellipsis."""
    content = _first(properties.get("content"))
    text, html = _text(content), ""
    if isinstance(content, dict) and isinstance(content.get("html"), str):
        html = render(content["html"], source="html")
    if not text:
        text = _text(_first(properties.get("summary"))) or _text(_first(properties.get("name")))
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
        html = ""
    elif len(html) > 8 * max_length:  # markup out of all proportion to its words
        html = ""
    return text, html or render(escape_markdown(text))


def read_entry(page: Page, target: str, now: dt.datetime, max_length: int) -> Entry:
    """What the fetched ``page`` (which links to ``target``) says, as microformats2."""
    host = urlsplit(page.url).hostname or ""
    items: list[dict[str, Any]] = []
    title = ""
    if is_html(page):
        items = _items(mf2py.parse(doc=page.text(), url=page.url))
        links = _Links()
        links.feed(page.text())
        title = " ".join(links.title.split())
    entry, kind = _the_entry(items, target)
    properties = entry.get("properties", {}) if entry else {}
    author = _card(_first(properties.get("author")))
    fallback = _representative_card(items, page.url)
    text, html = _words(properties, max_length) if entry else ("", "")
    if not text:
        text = (title or page.url)[:max_length]
        html = render(escape_markdown(text))
    return Entry(
        kind=kind,
        author_name=(author["name"] or fallback["name"] or host)[:MAX_NAME],
        author_url=author["url"] or fallback["url"],
        author_photo=author["photo"] or fallback["photo"],
        published=_published(_first(properties.get("published")), now),
        text=text,
        html=html,
    )


# -- the handler ------------------------------------------------------------------------


def from_domain(host: str) -> Any:
    """The comments that came by Webmention from ``host`` (the "first" rule's sender)."""
    prefixes = [f"{scheme}://{host}{end}" for scheme in ("http", "https") for end in ("/", ":")]
    same = Comment.source.startswith(prefixes[0])
    for prefix in prefixes[1:]:
        same |= Comment.source.startswith(prefix)
    return (Comment.kind != "comment") & same


class Verifier:
    """Verifies queued Webmentions: ``verifier(recipient, payload)`` is the outbox handler."""

    def __init__(
        self,
        config: Config,
        *,
        screener: Screener | None = None,
        events: Events | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.config = config
        self.clock = clock
        self._screener = screener
        self._events = events
        self.limits = limits_for(config.webmention)

    def _site(self) -> tuple[Screener, Events]:
        """The screener and the event listeners, built on first use: the site's keys come
        from the database, which is open only once the worker runs."""
        if self._screener is None or self._events is None:
            from commentd.services.keys import Keys, stored_secret
            from commentd.services.notifications import Notifier

            keys = Keys.from_secret(self.config.security.secret or stored_secret())
            if self._screener is None:
                self._screener = Screener(self.config, keys.form_stamp, checker_for(self.config))
            if self._events is None:
                self._events = Notifier(self.config, keys)
        return self._screener, self._events

    def __call__(self, recipient: str, payload: dict[str, Any]) -> None:
        row = self.verify(int(payload["id"]))
        if row is not None and row.status in OUTCOMES:
            metrics.WEBMENTIONS.inc({"outcome": row.status})

    def verify(self, webmention_id: int) -> Webmention | None:
        """Fetch, check and record one Webmention; raises ``SourceUnavailable`` to be tried
        again. The row as it now is (None when it no longer exists)."""
        row = Webmention.get_or_none(Webmention.id == webmention_id)
        if row is None:
            return None
        domains = bans.lists().domains
        if bans.domain_banned(urlsplit(row.source).hostname, domains):
            return self._refuse(row, BANNED)
        try:
            page = fetch(row.source, self.limits)
        except FetchError as exc:
            if exc.code in FINAL_FETCH_ERRORS:
                return self._refuse(row, exc.message)
            self._unavailable(row, exc.message)
        if bans.domain_banned(urlsplit(page.url).hostname, domains):
            return self._refuse(row, BANNED)
        if page.status >= 500:
            self._unavailable(row, f"The source answered {page.status}.")
        if 400 <= page.status < 500:
            return self._gone(row, f"The source answered {page.status}.")
        if not 200 <= page.status < 300:
            return self._refuse(row, f"The source answered {page.status}.")
        if not links_to(page, row.target):
            return self._gone(row, NO_LINK)
        entry = read_entry(page, row.target, self.clock(), self.config.comments.max_length)
        try:
            return self._record(row, page, entry)
        except CommentdError as exc:  # blocked, too many links, a closed thread
            return self._refuse(row, exc.message)

    # -- outcomes -----------------------------------------------------------------------

    def _save(self, row: Webmention, **changes: Any) -> Webmention:
        if changes.get("error"):
            changes["error"] = changes["error"][:MAX_ERROR]
        for name, value in changes.items():
            setattr(row, name, value)
        row.save()
        return row

    def _refuse(self, row: Webmention, error: str) -> Webmention:
        """Rejected; a comment it made earlier stays as it is."""
        with write_transaction():
            return self._save(row, status="rejected", error=error)

    def _unavailable(self, row: Webmention, error: str) -> None:
        """Keep the error and have the outbox try again; the last attempt rejects it."""
        with write_transaction():
            status = "rejected" if self._last_attempt(row) else row.status
            self._save(row, status=status, error=error)
        if status == "rejected":
            metrics.WEBMENTIONS.inc({"outcome": status})
        raise SourceUnavailable(error)

    def _last_attempt(self, row: Webmention) -> bool:
        """Whether the outbox message being handled for ``row`` is on its last attempt."""
        payload = json.dumps({"id": row.id}, ensure_ascii=False, sort_keys=True)
        message = (
            OutboxMessage.select(OutboxMessage.attempts)
            .where(
                (OutboxMessage.kind == KIND)
                & (OutboxMessage.payload == payload)
                & (OutboxMessage.status == OutboxStatus.PENDING.value)
            )
            .order_by(OutboxMessage.id.desc())
            .first()
        )
        return message is not None and message.attempts >= self.config.outbox.max_attempts

    def _gone(self, row: Webmention, error: str) -> Webmention:
        """The source is gone or no longer links here: its comment is removed; the row is
        ``deleted``, or ``rejected`` when it was never verified."""
        _, events = self._site()
        with write_transaction():
            self._remove_comment(row, events)
            if row.thread_id is not None and row.status == "verified":
                bump_version(row.thread_id)  # a like, repost or bookmark less
            status = "deleted" if row.verified is not None else "rejected"
            return self._save(row, status=status, error=error)

    def _remove_comment(self, row: Webmention, events: Events) -> None:
        comment = Comment.get_or_none(Comment.id == row.comment_id) if row.comment_id else None
        if comment is not None and comment.status != Status.DELETED:
            erase(comment, self.clock())
            bump_version(comment.thread_id)
            events.comment_deleted(comment)

    def _record(self, row: Webmention, page: Page, entry: Entry) -> Webmention:
        screener, events = self._site()
        source = page.url if len(page.url) <= MAX_URL else row.source
        submission = Submission(
            uri=row.uri,
            text=entry.text,
            author=entry.author_name,
            email=None,
            website=entry.author_url,
            address="",
            user_agent="",
        )
        found = Comment.get_or_none(Comment.id == row.comment_id) if row.comment_id else None
        if found is not None and found.status == Status.DELETED:
            found = None
        verdict = None
        if entry.kind in COMMENT_KINDS:
            check_links(entry.html, self.config.comments.max_links)
            if found is None:
                host = (urlsplit(source).hostname or "").lower()
                verdict = screener.screen(
                    submission, entry.html, Client(), Traps(), sender=from_domain(host)
                )
        elif screener.blocklisted(submission, Client()):
            return self._refuse(row, "The source is blocklisted.")
        now = self.clock()
        with write_transaction():
            thread = thread_for_write(self.config, row.uri, None, self.clock)
            comment = None
            if entry.kind not in COMMENT_KINDS:
                self._remove_comment(row, events)  # a reply that became a like
                bump_version(thread.id)
            elif found is not None:
                comment = self._update(found, entry, source, now)
            else:
                comment = Comment.create(
                    thread=thread,
                    created=entry.published,
                    status=verdict.status,
                    caught_by=verdict.signal,
                    source=source,
                    **entry.comment_fields(),
                )
                if comment.status == Status.APPROVED:
                    bump_version(thread.id)
                events.comment_created(comment)
            return self._save(
                row,
                status="verified",
                kind=entry.kind,
                author_name=entry.author_name,
                author_url=entry.author_url,
                author_photo=entry.author_photo,
                published=entry.published,
                verified=now,
                error=None,
                comment=comment,
                thread=thread,
            )

    def _update(self, comment: Comment, entry: Entry, source: str, now: dt.datetime) -> Comment:
        """The same source again: its comment takes the new words and author, keeping its
        status (as a reader's edit does)."""
        for name, value in entry.comment_fields().items():
            setattr(comment, name, value)
        comment.source, comment.modified = source, now
        comment.save()
        if comment.status == Status.APPROVED:
            bump_version(comment.thread_id)
        return comment
