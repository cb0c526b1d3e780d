"""Reading the blog's own feed (``[fediverse] feed_url``): an outbox worker step that, every
``feed_interval``, publishes each entry it has not seen yet (``Publisher.publish``), oldest
first. The first read marks the whole feed as seen and publishes only its newest entry, so
that turning the setting on does not send the archive to every follower.

What was seen is kept in the ``fediverse_feed`` setting (the time of the last read and the
entries' addresses), claimed in a write transaction so that one process reads the feed per
interval however many workers run. A feed that cannot be fetched or parsed is logged and
read again at the next interval. Atom and RSS 2.0 are read; only entries that are pages of
``[site] url`` are published.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import unescape

from commentd.config import Config
from commentd.errors import CommentdError
from commentd.services.fediverse.publish import Publisher
from commentd.services.fetch import FetchError, fetch, limits_for
from commentd.services.webmention import thread_uri
from commentd.storage.database import write_transaction
from commentd.storage.models import Setting, utcnow

log = logging.getLogger("commentd.fediverse")

FEED_SETTING = "fediverse_feed"
ATOM = "{http://www.w3.org/2005/Atom}"
KEEP_SEEN = 500
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Entry:
    """One entry of the feed: its page, title, summary and date."""

    url: str
    title: str
    summary: str
    published: dt.datetime


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    raw = "".join(element.itertext())
    if element.get("type") in ("html", "xhtml") or "<" in raw:
        raw = unescape(_TAGS.sub(" ", raw))
    return " ".join(raw.split())


def _date(value: str | None) -> dt.datetime:
    value = (value or "").strip()
    moment = None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
    if moment is None:
        return dt.datetime(1970, 1, 1)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def parse_feed(data: bytes) -> list[Entry]:
    """The entries of an Atom or RSS 2.0 feed, oldest first; ``ValueError`` if neither."""
    try:
        root = ET.fromstring(data)  # noqa: S314 - the blog's own feed, bounded in size
    except ET.ParseError as exc:
        raise ValueError(f"the feed is not well-formed XML: {exc}") from None
    entries = []
    if root.tag == f"{ATOM}feed":
        for item in root.iter(f"{ATOM}entry"):
            links = item.findall(f"{ATOM}link")
            alternate = [x for x in links if x.get("rel", "alternate") == "alternate"] or links
            url = (alternate[0].get("href") or "").strip() if alternate else ""
            published = item.findtext(f"{ATOM}published") or item.findtext(f"{ATOM}updated")
            summary = item.find(f"{ATOM}summary")
            entries.append(
                Entry(url, _text(item.find(f"{ATOM}title")), _text(summary), _date(published))
            )
    elif root.tag == "rss":
        for item in root.iter("item"):
            url = (item.findtext("link") or "").strip()
            entries.append(
                Entry(
                    url,
                    _text(item.find("title")),
                    _text(item.find("description")),
                    _date(item.findtext("pubDate")),
                )
            )
    else:
        raise ValueError("the feed is neither Atom nor RSS 2.0")
    entries.sort(key=lambda entry: entry.published)
    return [entry for entry in entries if entry.url]


class FeedReader:
    """The outbox step: ``reader(now)`` reads the feed when its interval has passed."""

    def __init__(self, config: Config, publisher: Publisher | None = None):
        self.config = config
        self.publisher = publisher or Publisher(config)
        self.limits = limits_for(config.webmention)

    def __call__(self, now: dt.datetime) -> list[str] | None:
        return self.run(now)

    def _claim(self, now: dt.datetime) -> tuple[bool, list[str]] | None:
        """(whether this is the first read, the addresses seen) if the read is due and now
        this process's, else None."""
        with write_transaction():
            row = Setting.get_or_none(Setting.key == FEED_SETTING)
            state = json.loads(row.value) if row is not None else {}
            last = state.get("read")
            interval = dt.timedelta(seconds=self.config.fediverse.feed_interval)
            if last and dt.datetime.fromisoformat(last) + interval > now:
                return None
            state["read"] = now.isoformat()
            value = json.dumps(state)
            if row is None:
                Setting.create(key=FEED_SETTING, value=value)
            else:
                Setting.update(value=value).where(Setting.key == FEED_SETTING).execute()
        return row is None or "seen" not in state, list(state.get("seen", []))

    def _save_seen(self, seen: list[str]) -> None:
        with write_transaction():
            row = Setting.get(Setting.key == FEED_SETTING)
            state = json.loads(row.value)
            state["seen"] = seen[-KEEP_SEEN:]
            Setting.update(value=json.dumps(state)).where(Setting.key == FEED_SETTING).execute()

    def run(self, now: dt.datetime | None = None) -> list[str] | None:
        """Read the feed if due; the addresses published (None: not due, or it failed)."""
        now = now or utcnow()
        claimed = self._claim(now)
        if claimed is None:
            return None
        first, seen = claimed
        url = self.config.fediverse.feed_url
        try:
            page = fetch(url, self.limits)
            if not 200 <= page.status < 300:
                raise ValueError(f"it answered {page.status}")
            entries = parse_feed(page.body)
        except (FetchError, ValueError) as exc:
            log.warning("cannot read the feed %s: %s", url, getattr(exc, "message", exc))
            return None
        ours = []
        for entry in entries:
            try:
                thread_uri(self.config, entry.url)
            except CommentdError:
                continue
            ours.append(entry)
        fresh = [entry for entry in ours if entry.url not in seen]
        if first:
            fresh = fresh[-1:]
        published = []
        for entry in fresh:
            try:
                self.publisher.publish(entry.url, entry.title, entry.summary)
            except CommentdError as exc:
                log.warning("cannot publish %s from the feed: %s", entry.url, exc.message)
                continue
            published.append(entry.url)
        self._save_seen(seen + [entry.url for entry in ours if entry.url not in seen])
        return published
