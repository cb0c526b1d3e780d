"""The reader-facing words of server-rendered pages, in the embed's languages.

The translations are the embed's own (``commentd/static/js/i18n/<lang>.json``), so a thread
reads the same with and without JavaScript; English is kept here as the embed keeps it in
``embed.js`` (a test holds the two together).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

I18N_DIR = Path(__file__).resolve().parent.parent / "static" / "js" / "i18n"
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "zh", "pl")
ENGLISH = {
    "title_label": "Comments",
    "write": "Your comment (Markdown)",
    "name": "Name",
    "email": "Email",
    "website": "Website",
    "optional": "optional",
    "required": "required",
    "email_private": "never shown",
    "notify": "Notify me of replies by email",
    "moderated": "Comments are reviewed before they appear.",
    "pinned": "Pinned",
    "submit": "Post comment",
    "deleted": "Deleted comment",
    "pending": "Your comment is awaiting moderation",
    "edited": "edited",
    "empty": "No comments yet. Start the conversation!",
    "locked": "Comments are closed.",
    "load_more": "Load more comments",
    "anonymous": "Anonymous",
    "retry": "Try again",
    "error_too_long": "This is too long.",
    "error_required": "Please fill in this field.",
    "error_invalid_email": "Please enter a valid email address.",
    "error_invalid_url": "Please enter a valid web address, such as https://example.com.",
    "error_email_required": "Enter your email address to be notified of replies.",
    "error_invalid_value": "This contains characters that are not allowed.",
    "error_invalid_parent": "The comment you are replying to no longer exists.",
    "error_thread_locked": "This thread is closed.",
    "error_rate_limited": "You are posting too fast. Please wait a moment.",
    "error_blocked": "This comment cannot be accepted here.",
    "error_too_many_links": "This comment has too many links. Please remove some.",
    "error_duplicate_comment": "You already posted this comment here.",
    "error_origin_not_allowed": "This site is not allowed to post comments to this server.",
    "error_unavailable": "The comment server is busy. Please try again.",
    "error_generic": "Something went wrong. Please try again.",
}


def language(value: str | None) -> str:
    """The supported language ``value`` names (``de-AT`` is ``de``), else English."""
    primary = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else "en"


@functools.cache
def _translations(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    loaded = json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return {key: value for key, value in loaded.items() if isinstance(value, str)}


def translator(lang: str) -> Callable[..., str]:
    """``t(key, default=None)``: the string ``key`` in ``lang``, else in English, else
    ``default`` (else the key)."""
    words = _translations(language(lang))

    def t(key: str, default: str | None = None) -> str:
        return words.get(key) or ENGLISH.get(key) or default or key

    return t
