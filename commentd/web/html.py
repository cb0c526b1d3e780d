"""Comments without JavaScript: the thread as an HTML fragment and the plain form's post.

``GET /html/thread`` is answered by the read cache (and the fast path) like the JSON read.
``POST /html/comments`` takes the fragment's form and makes the very call the JSON API makes
(``CommentService.create``): the same validation, moderation, limits and notifications. A
published comment is answered with ``303 See Other`` to its place on the blog page, built from
``[site] url`` and the thread's uri alone; a held one, or a refusal, with a page in the
reader's language (a refusal keeps what they typed).
"""

from __future__ import annotations

from html import escape
from typing import Any

import bottle

from commentd.services.i18n import language, translator
from commentd.services.pages import page_url, permalink
from commentd.services.validation import whole_number
from commentd.storage.models import Status
from commentd.web import caching, inputs
from commentd.web.api import Services
from commentd.web.fragment import FragmentRenderer

FORM_FIELDS = ("text", "author", "email", "website", "parent", "homepage")
FORM_KEY = "commentd.form"  # the posted form, kept in the environ for the error page
PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
</head>
<body>
<main class="commentd-thread">
<h1>{title}</h1>
{body}
<p><a href="{back}">{back_text}</a></p>
</main>
</body>
</html>
"""


def form_values(form: dict[str, list[str]]) -> dict[str, str]:
    """The first value of each field the comment form has."""
    values = {name: form[name][0] for name in (*FORM_FIELDS, "uri", "lang") if form.get(name)}
    for box in ("notify", "notify_thread"):
        if form.get(box) and form[box][0] not in ("", "0"):
            values[box] = "1"
    return values


def submission(values: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the JSON API's body: a parent is an id, the boxes booleans."""
    data: dict[str, Any] = {name: values.get(name) for name in FORM_FIELDS}
    parent = values.get("parent")
    if parent:
        data["parent"] = whole_number(parent) or parent  # not digits: refused as invalid
    data["notify"] = values.get("notify") == "1"
    data["notify_thread"] = values.get("notify_thread") == "1"
    data["lang"] = values.get("lang")  # the fragment's form says which page it was on
    return data


def register(app: bottle.Bottle, services: Services, reads: caching.ReadCache) -> None:
    """Add ``/html/thread`` and ``/html/comments`` to ``app``."""
    config = services.config
    fragments: FragmentRenderer = reads.fragments

    def page(lang: str, title: str, body: str, uri: str | None) -> str:
        """A whole page: ``title``, ``body`` (HTML) and a link back to the blog page."""
        back = page_url(config, uri or "/")
        return PAGE.format(
            lang=escape(lang),
            title=escape(title),
            body=body,
            back=escape(back, quote=True),
            back_text=escape(back),
        )

    def refusal(error: dict[str, Any]) -> str:
        environ = bottle.request.environ
        values = environ.get(FORM_KEY) or {}
        lang = language(values.get("lang") or environ.get("HTTP_ACCEPT_LANGUAGE"))
        t = translator(lang)
        message = t(f"error_{error['code']}", error["message"])
        uri = values.get("uri")
        body = fragments.form(uri, lang, values=values) if uri else ""
        return page(lang, message, body, uri)

    @app.get("/html/thread")
    def html_thread() -> bytes:
        return caching.respond(reads.html_thread(bottle.request.environ))

    @app.post("/html/comments", **{"commentd.error_page": refusal})
    def post_comment() -> str:
        environ = bottle.request.environ
        values = form_values(inputs.form(environ, config.server.max_body_size))
        environ[FORM_KEY] = values
        created = services.comments.create(
            values.get("uri"),
            submission(values),
            inputs.client(environ, services.addresses),
            can_prove=False,  # no script to solve a proof of work: held when one is asked
        )
        comment = created.comment
        if comment.status == Status.APPROVED:
            bottle.response.status = 303
            bottle.response.set_header(
                "Location", permalink(config, comment.thread.uri, comment.id)
            )
            bottle.response.set_header("Cache-Control", "no-store")
            return ""
        lang = language(values.get("lang") or environ.get("HTTP_ACCEPT_LANGUAGE"))
        t = translator(lang)
        bottle.response.set_header("Content-Type", "text/html; charset=utf-8")
        return page(lang, t("pending"), "", comment.thread.uri)
