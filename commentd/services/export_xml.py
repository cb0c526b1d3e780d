"""Exports other engines import: WordPress's WXR 1.2 and Disqus's XML, streamed.

WXR is written as WordPress writes it (WordPress/WordPress, wp-admin/includes/export.php):
one ``<item>`` per thread that has comments, its ``<wp:comment>`` children inside. Disqus's
shape follows https://help.disqus.com/en/articles/1717164-comments-export and its disqus.xsd:
a ``<category>``, every ``<thread>``, then every ``<post>``, pointing at them by ``dsq:id``.
Disqus has no held state: ``<isApproved>false</isApproved>`` (the name of the Disqus API's
post field) marks a pending post, and commentd's Disqus reader reads it.

Rows are read in id order with ``.iterator()``, so memory stays flat. Text is escaped, bodies
go in CDATA sections (a ``]]>`` inside is split), and characters XML 1.0 cannot carry are
left out. A thread's link is ``[site] url`` plus its uri, so that must be set.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from commentd.config import Config
from commentd.errors import ValidationError
from commentd.services.export import ExportCounts
from commentd.services.importers.records import uri_of
from commentd.services.pages import page_url
from commentd.storage.models import Comment, Status, Thread, utcnow
from commentd.version import __version__

# Everything XML 1.0 allows (https://www.w3.org/TR/xml/#charsets); the rest is dropped.
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
WXR_APPROVED = {
    Status.APPROVED: "1",
    Status.PENDING: "0",
    Status.SPAM: "spam",
    Status.DELETED: "trash",
}


def _clean(value: str | None) -> str:
    return _FORBIDDEN.sub("", value or "")


def _text(value: object) -> str:
    """Escaped character data; a carriage return as a reference, so parsers keep it."""
    return escape(_clean(str(value) if value is not None else "")).replace("\r", "&#13;")


def _cdata(value: str | None) -> str:
    """A CDATA section of ``value``; ``]]>`` and carriage returns step out of it."""
    body = _clean(value).replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")
    return f"<![CDATA[{body}]]>"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _site(config: Config) -> str:
    base = config.site.url.rstrip("/")
    if not base:
        raise ValidationError(
            "Set [site] url first: these formats name each thread by its page's address.",
            code="no_site_url",
        )
    return base


def _link(config: Config, uri: str) -> str:
    """The thread's page; a uri that is not a path is taken as one (``post-1``: ``/post-1``)."""
    path = uri_of(uri)
    return page_url(config, path if path.startswith("/") else "/" + path)


def _wxr_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _rfc822(value: dt.datetime) -> str:
    return email.utils.format_datetime(value.replace(tzinfo=dt.timezone.utc))


WXR_HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<!-- generator="commentd/{version}" created="{created}" -->
<rss version="2.0"
\txmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:wp="http://wordpress.org/export/1.2/"
>
<channel>
\t<title>{title}</title>
\t<link>{site}</link>
\t<description>Comments exported from commentd</description>
\t<pubDate>{date}</pubDate>
\t<generator>commentd/{version}</generator>
\t<wp:wxr_version>1.2</wp:wxr_version>
\t<wp:base_site_url>{site}</wp:base_site_url>
\t<wp:base_blog_url>{site}</wp:base_blog_url>
"""

WXR_ITEM = """\t<item>
\t\t<title>{title}</title>
\t\t<link>{link}</link>
\t\t<pubDate>{date}</pubDate>
\t\t<dc:creator><![CDATA[]]></dc:creator>
\t\t<guid isPermaLink="false">{link}</guid>
\t\t<description></description>
\t\t<content:encoded><![CDATA[]]></content:encoded>
\t\t<excerpt:encoded><![CDATA[]]></excerpt:encoded>
\t\t<wp:post_id>{id}</wp:post_id>
\t\t<wp:post_date>{created}</wp:post_date>
\t\t<wp:post_date_gmt>{created}</wp:post_date_gmt>
\t\t<wp:comment_status>{status}</wp:comment_status>
\t\t<wp:ping_status>closed</wp:ping_status>
\t\t<wp:post_name></wp:post_name>
\t\t<wp:status>publish</wp:status>
\t\t<wp:post_parent>0</wp:post_parent>
\t\t<wp:menu_order>0</wp:menu_order>
\t\t<wp:post_type>post</wp:post_type>
\t\t<wp:post_password></wp:post_password>
\t\t<wp:is_sticky>0</wp:is_sticky>
"""

WXR_COMMENT = """\t\t<wp:comment>
\t\t\t<wp:comment_id>{id}</wp:comment_id>
\t\t\t<wp:comment_author>{author}</wp:comment_author>
\t\t\t<wp:comment_author_email>{email}</wp:comment_author_email>
\t\t\t<wp:comment_author_url>{website}</wp:comment_author_url>
\t\t\t<wp:comment_author_IP>{address}</wp:comment_author_IP>
\t\t\t<wp:comment_date>{created}</wp:comment_date>
\t\t\t<wp:comment_date_gmt>{created}</wp:comment_date_gmt>
\t\t\t<wp:comment_content>{content}</wp:comment_content>
\t\t\t<wp:comment_approved>{approved}</wp:comment_approved>
\t\t\t<wp:comment_type>comment</wp:comment_type>
\t\t\t<wp:comment_parent>{parent}</wp:comment_parent>
\t\t\t<wp:comment_user_id>0</wp:comment_user_id>
\t\t</wp:comment>
"""


def wxr(
    config: Config, counts: ExportCounts | None = None, clock: Callable[[], dt.datetime] = utcnow
) -> Iterator[str]:
    """The WXR export in pieces: each thread with comments as a post, its comments inside.

    Raises ``ValidationError`` (``no_site_url``) at once when ``[site] url`` is not set."""
    return _wxr(config, _site(config), counts or ExportCounts(), clock())


def _wxr(config: Config, site: str, counts: ExportCounts, now: dt.datetime) -> Iterator[str]:
    yield WXR_HEAD.format(
        version=__version__,
        created=_wxr_time(now),
        title=_text(urlsplit(site).hostname),
        site=_text(site),
        date=_rfc822(now),
    )
    rows = (
        Comment.select(Comment, Thread).join(Thread).order_by(Comment.thread, Comment.id).iterator()
    )
    for _, comments in itertools.groupby(rows, key=lambda comment: comment.thread_id):
        first = next(comments)
        thread = first.thread
        counts.threads += 1
        yield WXR_ITEM.format(
            title=_text(thread.title),
            link=_text(_link(config, thread.uri)),
            date=_rfc822(thread.created),
            id=thread.id,
            created=_wxr_time(thread.created),
            status="closed" if thread.locked else "open",
        )
        for comment in itertools.chain((first,), comments):
            counts.comments += 1
            yield WXR_COMMENT.format(
                id=comment.id,
                author=_cdata(comment.author),
                email=_text(comment.email),
                website=_text(comment.website),
                address=_text(comment.remote_addr),
                created=_wxr_time(comment.created),
                content=_cdata(comment.html.strip()),
                approved=WXR_APPROVED[comment.status],
                parent=comment.parent_id or 0,
            )
        yield "\t</item>\n"
    yield "</channel>\n</rss>\n"


DISQUS_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<!-- generator="commentd/{version}" created="{created}" -->
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://disqus.com/api/schemas/1.0/disqus.xsd \
http://disqus.com/api/schemas/1.0/disqus-internals.xsd">
  <category dsq:id="1">
    <forum>{forum}</forum>
    <title>General</title>
    <isDefault>true</isDefault>
  </category>
"""

DISQUS_THREAD = """  <thread dsq:id="{id}">
    <id>{uri}</id>
    <forum>{forum}</forum>
    <category dsq:id="1" />
    <link>{link}</link>
    <title>{title}</title>
    <message />
    <createdAt>{created}</createdAt>
    <isClosed>{closed}</isClosed>
    <isDeleted>false</isDeleted>
  </thread>
"""

DISQUS_POST = """  <post dsq:id="{id}">
    <id />
    <message>{message}</message>
    <createdAt>{created}</createdAt>
    <isDeleted>{deleted}</isDeleted>
    <isSpam>{spam}</isSpam>
    <isApproved>{approved}</isApproved>
    <author>
      <email>{email}</email>
      <name>{author}</name>
      <isAnonymous>true</isAnonymous>
    </author>
    <ipAddress>{address}</ipAddress>
    <thread dsq:id="{thread}" />
{parent}  </post>
"""


def _disqus_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def disqus(
    config: Config, counts: ExportCounts | None = None, clock: Callable[[], dt.datetime] = utcnow
) -> Iterator[str]:
    """The Disqus-shaped export in pieces: every thread, then every comment.

    Raises ``ValidationError`` (``no_site_url``) at once when ``[site] url`` is not set."""
    return _disqus(config, _site(config), counts or ExportCounts(), clock())


def _disqus(config: Config, site: str, counts: ExportCounts, now: dt.datetime) -> Iterator[str]:
    forum = _text(urlsplit(site).hostname)
    yield DISQUS_HEAD.format(version=__version__, created=_wxr_time(now), forum=forum)
    for thread in Thread.select().order_by(Thread.id).iterator():
        counts.threads += 1
        yield DISQUS_THREAD.format(
            id=thread.id,
            uri=_text(thread.uri),
            forum=forum,
            link=_text(_link(config, thread.uri)),
            title=_text(thread.title),
            created=_disqus_time(thread.created),
            closed=_flag(thread.locked),
        )
    for comment in Comment.select().order_by(Comment.id).iterator():
        counts.comments += 1
        parent = f'    <parent dsq:id="{comment.parent_id}" />\n' if comment.parent_id else ""
        yield DISQUS_POST.format(
            id=comment.id,
            message=_cdata(comment.html.strip()),
            created=_disqus_time(comment.created),
            deleted=_flag(comment.status == Status.DELETED),
            spam=_flag(comment.status == Status.SPAM),
            approved=_flag(comment.status != Status.PENDING),
            email=_text(comment.email),
            author=_text(comment.author),
            address=_text(comment.remote_addr),
            thread=comment.thread_id,
            parent=parent,
        )
    yield "</disqus>\n"


# ``commentd export --format NAME``: the writer of each format.
FORMATS = {"wxr": wxr, "disqus": disqus}
