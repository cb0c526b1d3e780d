"""A thread as HTML: the fragment a blog page includes, readable without JavaScript.

The comments are the JSON read's (``serialize.Presenter``: the same public fields, the same
sanitized HTML), nested as in the embed, each an ``<article id="c<id>">`` marked up twice:
microformats2 (``h-cite p-comment``, ``p-author h-card``, ``dt-published``, ``e-content``) for
the IndieWeb and schema.org ``Comment`` microdata for search engines. Every value a reader
wrote is escaped here, in one place; the comment HTML was sanitized when it was stored. A plain
``<form method="post">`` at the end posts to ``/html/comments``.

A Webmention reply or mention says where it came from ("via other.example.org", its
``u-url``); the thread's likes, reposts and bookmarks are a row under the heading. No picture
from another site is ever put in: a Webmention author's photo is not shown (docs/webmention.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

from commentd.config import Config
from commentd.services.i18n import direction, translator
from commentd.services.pages import permalink
from commentd.web.serialize import web_url

# Enough to read the thread without the host page's CSS; the embed's own styles replace it.
STYLE = (
    ".commentd-thread .cd-comment{margin:1em 0}"
    ".commentd-thread .cd-replies{margin-left:1.25em;padding-left:.75em;"
    "border-left:2px solid #8884}"
    ".commentd-thread .cd-meta{font-size:.9em;opacity:.8}"
    ".commentd-thread .cd-form label{display:block;margin:.5em 0}"
    ".commentd-thread .cd-form textarea{width:100%;min-height:6em;box-sizing:border-box}"
    ".commentd-thread .cd-reactions{list-style:none;padding:0}"
    ".commentd-thread .cd-reactions li{display:inline}"
    '.commentd-thread .cd-reactions li+li:before{content:" · "}'
)
#: How a link to another site is marked: a reader's, not the site's, and no opener.
FOREIGN = "nofollow ugc noopener"


def host(url: str) -> str:
    """The host name of an http(s) URL, as a marker names it."""
    return urlsplit(url).hostname or url


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


class FragmentRenderer:
    """Renders thread pages of one configured site as HTML fragments."""

    def __init__(self, config: Config):
        self.config = config
        self.public = config.public_url
        mail = config.mail
        self.boxes = [
            (name, key)
            for name, key, offered in (
                ("notify", "notify", mail.reply_notifications),
                ("notify_thread", "notify_thread", mail.thread_notifications),
            )
            if mail.enabled and offered
        ]

    def thread(
        self, data: dict[str, Any], query: dict[str, Any], lang: str, json_tag: str = ""
    ) -> str:
        """The fragment for a thread page in its JSON shape (``Presenter.thread_page``);
        ``query`` holds the read's ``sort`` and ``limit``, for the next page's link;
        ``json_tag`` is the ETag of the same page as JSON, with which the embed asks whether
        the fragment is still current (and builds its thread from it when it is)."""
        t = translator(lang)
        thread = data["thread"]
        uri = thread["uri"]
        feed = f"{self.public}/feed/thread.atom?{urlencode({'uri': uri})}"
        state = f' data-total="{int(thread["total"])}" data-cursor="{_e(data["cursor"] or "")}"'
        if thread["locked"]:
            state += ' data-locked=""'
        if json_tag:
            state += f' data-etag="{_e(json_tag)}"'
        reactions = data.get("reactions") or {}
        if any(entry["count"] for entry in reactions.values()):
            state += f' data-reactions="{_e(json.dumps(reactions, separators=(",", ":")))}"'
        parts = [
            f'<section class="commentd-thread" id="commentd-thread" lang="{_e(lang)}"'
            f' dir="{direction(lang)}"'
            f' data-uri="{_e(uri)}"{state} aria-labelledby="commentd-heading">',
            f"<style>{STYLE}</style>",
            f'<link rel="alternate" type="application/atom+xml" href="{_e(feed)}">',
            f'<h2 id="commentd-heading">{_e(t("title_label"))} ({int(thread["total"])})</h2>',
        ]
        parts.extend(self._reactions(reactions, t))
        if data["comments"]:
            parts.append('<div class="cd-comments">')
            parts.extend(self._comment(node, uri, t, top=True) for node in data["comments"])
            parts.append("</div>")
        elif not data["cursor"]:
            parts.append(f'<p class="cd-empty">{_e(t("empty"))}</p>')
        if data["cursor"]:
            more = {"uri": uri, **query, "cursor": data["cursor"], "lang": lang}
            href = f"{self.public}/html/thread?{urlencode(more)}"
            parts.append(f'<p class="cd-more"><a href="{_e(href)}">{_e(t("load_more"))}</a></p>')
        parts.append(self.form(uri, lang, locked=thread["locked"]))
        parts.append("</section>")
        return "\n".join(parts) + "\n"

    def _comment(self, node: dict[str, Any], uri: str, t: Callable[..., str], top: bool) -> str:
        cid = int(node["id"])
        link = permalink(self.config, uri, cid)
        scope = 'itemscope itemtype="https://schema.org/Comment"'
        prop = "" if top else ' itemprop="comment"'
        lines = [
            f'<article id="c{cid}" class="cd-comment h-cite p-comment"{prop} {scope}'
            f"{self._state(node)}>"
        ]
        if node["status"] == "deleted":
            lines.append(f'<p class="cd-deleted">{_e(t("deleted"))}</p>')
        else:
            lines.extend(self._header(node, link, t))
            lines.append(
                f'<div class="cd-body e-content" itemprop="text" dir="auto">{node["html"]}</div>'
            )
            lines.append(f'<meta itemprop="upvoteCount" content="{int(node["likes"])}">')
            lines.append(f'<meta itemprop="downvoteCount" content="{int(node["dislikes"])}">')
        if node["replies"]:
            lines.append('<div class="cd-replies">')
            lines.extend(self._comment(reply, uri, t, top=False) for reply in node["replies"])
            lines.append("</div>")
        lines.append("</article>")
        return "\n".join(lines)

    @staticmethod
    def _reactions(reactions: dict[str, Any], t: Callable[..., str]) -> Iterator[str]:
        """ "3 likes: Ada, Bob · 1 repost: Cy", each name a link to its site; nothing when the
        thread has none."""
        shown = [(kind, entry) for kind, entry in reactions.items() if entry["count"]]
        if not shown:
            return
        yield f'<ul class="cd-reactions" aria-label="{_e(t("reactions"))}">'
        for kind, entry in shown:
            names = []
            for person in entry["people"]:
                name = _e(person["name"] or t("anonymous"))
                url = web_url(person["url"])
                names.append(
                    f'<a href="{_e(url)}" rel="{FOREIGN}" dir="auto">{name}</a>'
                    if url
                    else f'<span dir="auto">{name}</span>'
                )
            count = _e(t(kind + "s", n=int(entry["count"])))
            who = f": {', '.join(names)}" if names else ""
            yield f'<li class="cd-{kind}s"><span class="cd-count">{count}</span>{who}</li>'
        yield "</ul>"

    @staticmethod
    def _state(node: dict[str, Any]) -> str:
        """What the embed needs beyond the markup to draw the comment: ``data-*`` values."""
        values = {
            "parent": node["parent"],
            "status": node["status"],
            "author": node["author"],
            "website": node["website"],
            "avatar": node["avatar"],
            "gravatar": node["gravatar"],
            "picture": node["picture"],
            "created": node["created"],
            "modified": node["modified"],
            "likes": node["likes"],
            "dislikes": node["dislikes"],
            "pinned": "1" if node["pinned"] else None,
            "type": node["type"] if node["type"] != "comment" else None,
            "source": node["source"],
        }
        return "".join(f' data-{k}="{_e(v)}"' for k, v in values.items() if v not in (None, ""))

    def _header(self, node: dict[str, Any], link: str, t: Callable[..., str]) -> Iterator[str]:
        person = 'itemprop="author" itemscope itemtype="https://schema.org/Person"'
        name = _e(node["author"] or t("anonymous"))
        website, source = web_url(node["website"]), web_url(node["source"])
        if website:
            author = (
                f'<a class="p-name u-url" itemprop="url" href="{_e(website)}"'
                f' rel="nofollow ugc"><span itemprop="name">{name}</span></a>'
            )
        else:
            author = f'<span class="p-name" itemprop="name">{name}</span>'
        created = node["created"]
        yield '<header class="cd-meta">'
        yield f'<span class="cd-author p-author h-card" {person} dir="auto">{author}</span>'
        # a Webmention's own URL is its source page's; the permalink is only where it is here
        yield (
            f'<a class="cd-permalink{"" if source else " u-url"}" itemprop="url"'
            f' href="{_e(link)}">'
            f'<time class="dt-published" itemprop="dateCreated" datetime="{_e(created)}">'
            f"{_e(created[:10])}</time></a>"
        )
        if source:
            words = t("mentioned" if node["type"] == "mention" else "via", host=host(source))
            yield (f'<a class="cd-via u-url" href="{_e(source)}" rel="{FOREIGN}">{_e(words)}</a>')
        if node["modified"]:
            yield (
                f'<time class="cd-edited dt-updated" itemprop="dateModified"'
                f' datetime="{_e(node["modified"])}">{_e(t("edited"))}</time>'
            )
        if node["pinned"]:
            yield f'<span class="cd-pinned">{_e(t("pinned"))}</span>'
        yield "</header>"

    def form(
        self,
        uri: str,
        lang: str,
        locked: bool = False,
        values: dict[str, str] | None = None,
    ) -> str:
        """The comment form, posting without JavaScript; ``values`` refill it after a refusal."""
        t = translator(lang)
        if locked:
            return f'<p class="cd-locked">{_e(t("locked"))}</p>'
        values = values or {}
        settings = self.config.comments

        def field(name: str, label: str, kind: str, required: bool, note: str = "") -> str:
            hint = t("required") if required else t("optional")
            if note:
                hint += f", {t(note)}"
            autocomplete = {"author": "name", "website": "url"}.get(name, name)
            return (
                f'<label>{_e(t(label))} <small>({_e(hint)})</small> <input name="{name}"'
                f' type="{kind}" autocomplete="{autocomplete}" maxlength="254"'
                f' value="{_e(values.get(name, ""))}"{" required" if required else ""}></label>'
            )

        parts = [
            f'<form class="cd-form" method="post" action="{_e(self.public)}/html/comments"'
            ' accept-charset="utf-8">',
            f'<input type="hidden" name="uri" value="{_e(uri)}">',
            f'<input type="hidden" name="lang" value="{_e(lang)}">',
        ]
        if values.get("parent"):
            parts.append(f'<input type="hidden" name="parent" value="{_e(values["parent"])}">')
        if "all" in self.config.moderation.mode:
            parts.append(f'<p class="cd-moderated">{_e(t("moderated"))}</p>')
        parts += [
            f'<label>{_e(t("write"))} <textarea name="text" required'
            f' maxlength="{int(settings.max_length)}">{_e(values.get("text", ""))}</textarea>'
            "</label>",
            field("author", "name", "text", settings.require_author),
            field("email", "email", "email", settings.require_email, "email_private"),
            field("website", "website", "url", False),
        ]
        for name, key in self.boxes:
            checked = " checked" if values.get(name) else ""
            parts.append(
                f'<label><input type="checkbox" name="{name}" value="1"{checked}>'
                f" {_e(t(key))}</label>"
            )
        # the honeypot: hidden from people (and screen readers) by the attribute alone, so
        # no stylesheet or CSP of the host page can reveal it
        parts += [
            '<div hidden><label>Leave this empty <input name="homepage" tabindex="-1"'
            ' autocomplete="off"></label></div>',
            f'<p><button type="submit">{_e(t("submit"))}</button></p>',
            "</form>",
        ]
        return "\n".join(parts)
