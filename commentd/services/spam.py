"""Spam checkers: a small interface, and Akismet behind it (only when a key is configured).

A checker sees a submission before it is stored and answers whether it is spam. It must never
fail a comment: when the service cannot be reached it says "not spam" and logs why.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from commentd.config import Config

log = logging.getLogger(__name__)

AKISMET_TIMEOUT = 5.0


@dataclass(frozen=True)
class Submission:
    """What a spam checker may look at: the comment as sent, and who sent it."""

    uri: str
    text: str
    author: str | None
    email: str | None
    website: str | None
    address: str
    user_agent: str


class SpamChecker(Protocol):
    """Anything that can tell spam from ham."""

    def is_spam(self, submission: Submission) -> bool:
        """True for spam; False for ham or when undecided."""


class Akismet:
    """Akismet's ``comment-check`` call (https://akismet.com/developers/comment-check/)."""

    def __init__(self, key: str, url: str, blog: str, timeout: float = AKISMET_TIMEOUT):
        self.key = key
        self.endpoint = url.rstrip("/") + "/1.1/comment-check"
        self.blog = blog
        self.timeout = timeout

    def is_spam(self, submission: Submission) -> bool:
        fields = {
            "api_key": self.key,
            "blog": self.blog,
            "user_ip": submission.address,
            "user_agent": submission.user_agent,
            "permalink": self.blog + submission.uri,
            "comment_type": "comment",
            "comment_author": submission.author or "",
            "comment_author_email": submission.email or "",
            "comment_author_url": submission.website or "",
            "comment_content": submission.text,
        }
        request = urllib.request.Request(  # noqa: S310 - the configured https URL
            self.endpoint,
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = response.read(64).decode("ascii", "replace").strip()
        except (OSError, urllib.error.URLError) as exc:
            log.warning("akismet: no answer (%s); the comment goes through unchecked", exc)
            return False
        if answer not in ("true", "false"):
            log.warning("akismet: unexpected answer %r; is the key valid?", answer[:32])
            return False
        return answer == "true"


def checker_for(config: Config) -> SpamChecker | None:
    """The configured checker: Akismet with a key, else none (no third-party calls)."""
    settings = config.moderation
    if not settings.akismet_key:
        return None
    return Akismet(settings.akismet_key, settings.akismet_url, config.public_url)
