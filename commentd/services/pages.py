"""Where a thread lives on the blog: its page's address and its comments' permalinks.

The address is built from ``[site] url`` and the thread's uri, never from anything a request
names, so a redirect or a link built here cannot point a reader at another site.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from commentd.config import Config

# characters a uri keeps as they are in the address (the rest is percent-encoded)
SAFE = "/?&=%:;@!$'()*+,~-._"


def page_url(config: Config, uri: str) -> str:
    """The blog page of the thread keyed by ``uri``.

    A path is appended to ``[site] url``; a full URL on the same site is used as it is; any
    other uri gives the site's front page. With no ``[site] url``, every thread's page is
    commentd's own demo page.
    """
    base = config.site.url.rstrip("/")
    if not base:
        return config.public_url + "/"
    if uri.startswith("/"):
        return base + quote(uri, safe=SAFE)
    parts = urlsplit(uri)
    site = urlsplit(base)
    if (parts.scheme.lower(), parts.netloc.lower()) == (site.scheme.lower(), site.netloc.lower()):
        return f"{base}{quote(parts.path or '/', safe=SAFE)}" + (
            f"?{quote(parts.query, safe=SAFE)}" if parts.query else ""
        )
    return base + "/"


def permalink(config: Config, uri: str, comment_id: int) -> str:
    """The address of one comment on its blog page (the embed's ``#c<id>`` anchors)."""
    return f"{page_url(config, uri)}#c{comment_id}"
