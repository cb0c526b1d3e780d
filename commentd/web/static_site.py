"""The thread files of ``commentd export --format html|json-threads``: each thread rendered
as the server renders it (the HTML fragment of ``/html/thread``, the JSON of
``/api/comments``), for a static site's build to include."""

from __future__ import annotations

import hashlib

from commentd.services.comments import CommentService
from commentd.services.i18n import language
from commentd.services.site import Site
from commentd.services.thread_files import Render
from commentd.services.threads import ThreadPage
from commentd.version import __version__
from commentd.web.fragment import FragmentRenderer
from commentd.web.serialize import Presenter, dumps

THREAD_FORMATS = ("html", "json-threads")


def thread_renderer(site: Site, fmt: str, lang: str) -> tuple[str, str, Render]:
    """``(file name, stamp, render)`` for ``fmt``: the stamp names everything but the thread
    that the files depend on, so a new release or setting rewrites them all."""
    config = site.config
    present = Presenter(
        site.keys, CommentService(config, site.keys), config.comments.gravatar, config.public_url
    )
    lang = language(lang)
    parts = [fmt, lang, __version__, repr(config.comments), repr(config.site), config.public_url]
    parts += [repr(config.moderation.mode), str(config.mail.enabled)]
    stamp = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    if fmt == "html":
        fragments = FragmentRenderer(config)

        def html(page: ThreadPage) -> bytes:
            options = {"sort": page.sort, "limit": config.comments.max_page_size}
            return fragments.thread(present.thread_page(page), options, lang).encode()

        return "comments.html", stamp, html

    def json_thread(page: ThreadPage) -> bytes:
        return (dumps(present.thread_page(page)) + "\n").encode()

    return "comments.json", stamp, json_thread
