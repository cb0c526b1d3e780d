"""Spam checkers: a small interface, and Akismet behind it (only when a key is configured).

A checker sees a submission before it is stored and answers whether it is spam. It must never
fail a comment: when the service cannot be reached it says "not spam" and logs why.

Moderators' decisions go back to Akismet (``submit-spam``, ``submit-ham``) through the outbox:
``queue_feedback`` writes the message in the decision's transaction, and the outbox worker
sends it with ``Akismet.submit`` off the request path, retrying when Akismet cannot be reached.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from commentd.config import Config, ModerationConfig
from commentd.services import outbox
from commentd.storage.models import Comment, Thread

log = logging.getLogger(__name__)

AKISMET_TIMEOUT = 5.0
KIND = "akismet"
FEEDBACK = ("submit-spam", "submit-ham")


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
        self.base = url.rstrip("/")
        self.blog = blog
        self.timeout = timeout

    def _call(self, method: str, fields: dict[str, str]) -> str:
        """POST ``fields`` (with the key and blog) to ``/1.1/<method>``; the answer's start."""
        data = {"api_key": self.key, "blog": self.blog, **fields}
        request = urllib.request.Request(  # noqa: S310 - the configured https URL
            f"{self.base}/1.1/{method}",
            data=urllib.parse.urlencode(data).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return response.read(64).decode("ascii", "replace").strip()

    def is_spam(self, submission: Submission) -> bool:
        fields = {
            "user_ip": submission.address,
            "user_agent": submission.user_agent,
            "permalink": self.blog + submission.uri,
            "comment_type": "comment",
            "comment_author": submission.author or "",
            "comment_author_email": submission.email or "",
            "comment_author_url": submission.website or "",
            "comment_content": submission.text,
        }
        try:
            answer = self._call("comment-check", fields)
        except (OSError, urllib.error.URLError) as exc:
            log.warning("akismet: no answer (%s); the comment goes through unchecked", exc)
            return False
        if answer not in ("true", "false"):
            log.warning("akismet: unexpected answer %r; is the key valid?", answer[:32])
            return False
        return answer == "true"

    def submit(self, method: str, fields: dict[str, str]) -> None:
        """Tell Akismet about a moderator's decision (``submit-spam`` or ``submit-ham``);
        raises when it does not answer 200 (the outbox then retries)."""
        if method not in FEEDBACK:
            raise ValueError(f"not an Akismet feedback call: {method!r}")
        fields = {**fields, "permalink": self.blog + fields.get("permalink", "")}
        self._call(method, fields)  # any 200 answer is a receipt ("Thanks for ...")


def feedback_fields(comment: Comment) -> dict[str, str]:
    """What Akismet hears of a decided comment: what it was sent, as far as it is stored
    (the client's network, as commentd keeps it, stands in for its address)."""
    uri = Thread.select(Thread.uri).where(Thread.id == comment.thread_id).scalar() or "/"
    return {
        "user_ip": comment.remote_addr or "",
        "permalink": uri,
        "comment_type": "comment",
        "comment_author": comment.author or "",
        "comment_author_email": comment.email or "",
        "comment_author_url": comment.website or "",
        "comment_content": comment.text,
    }


def queue_feedback(comment: Comment, is_spam: bool) -> None:
    """Queue ``submit-spam`` or ``submit-ham`` for a comment a moderator decided; call it in
    the transaction of the decision."""
    outbox.enqueue(KIND, FEEDBACK[0] if is_spam else FEEDBACK[1], feedback_fields(comment))


def akismet_for(settings: ModerationConfig, blog: str) -> Akismet:
    """The Akismet client for the configured key, URL and blog."""
    return Akismet(settings.akismet_key, settings.akismet_url, blog)


def checker_for(config: Config) -> SpamChecker | None:
    """The configured checker: Akismet with a key, else none (no third-party calls)."""
    settings = config.moderation
    if not settings.akismet_key:
        return None
    return akismet_for(settings, config.public_url)
