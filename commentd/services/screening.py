"""Deciding a new comment's fate before it is stored: publish, hold, spam, or refuse.

In order: the embed's bot traps (honeypot, forged form stamp) mark spam silently; blocklists
refuse or hold; a filter score at or above ``[spam] filter_spam`` marks spam; a spam checker
(Akismet) marks spam; a filter score at or above ``[spam] filter_hold`` holds; a form sent
sooner than the minimum time is held (a quick reader is not a bot: the real embed waits the
time out itself); then the moderation rules (``first``, ``links``, ``all``) hold, or the
comment is published.

The ``Verdict`` names the signal that caught the comment (one of ``catches.SIGNALS``), kept
in ``comment.caught_by``; a refusal is counted with ``record_catch``, which other checks
(proof of work) call too.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commentd.config import Config
from commentd.errors import Forbidden, ValidationError
from commentd.services import bans, catches, metrics, normal
from commentd.services import filter as spam_filter
from commentd.services.clients import Client
from commentd.services.spam import SpamChecker, Submission
from commentd.services.validation import whole_number
from commentd.storage.models import Comment, Status, utcnow

BLOCKED = "This comment cannot be accepted here."
BANS_TTL = 2.0  # seconds


def record_catch(signal: str, comment: Comment | None = None) -> None:
    """Record that ``signal`` (a ``catches.SIGNALS`` name, e.g. ``proof_of_work``) caught a
    comment. With ``comment`` (about to be stored, or stored: call it in the transaction
    that stores or changes it) it is marked as caught by ``signal``; without, the comment
    was refused and nothing of it is stored: today's count of ``signal``'s refusals goes up
    by one, in a transaction of its own (so call it after the refusing transaction)."""
    if comment is None:
        catches.record_refusal(signal)
        return
    catches.counted(signal, "spam" if comment.status == Status.SPAM else "hold")
    comment.caught_by = signal
    if comment.id is not None:
        comment.save(only=[Comment.caught_by])


def check_links(html: str, limit: int) -> None:
    """Refuse (``400 too_many_links``, counted as a ``link_limit`` refusal) HTML with more
    than ``limit`` links; 0 is no limit."""
    if limit and html.count("<a ") > limit:
        record_catch("link_limit")
        raise ValidationError(
            f"A comment may contain at most {limit} links.", code="too_many_links", field="text"
        )


@dataclass(frozen=True)
class Verdict:
    """A new comment's status, the signal that held or marked it (None when none did, or a
    moderation rule held it), and its filter score 0..1 when the filter scored it."""

    status: Status
    signal: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class Traps:
    """What the embed's form adds to catch bots: the honeypot's value and the form stamp."""

    honeypot: str = ""
    form_stamp: str | None = None


def _unix(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.timezone.utc).timestamp())


def _stamp_signature(key: bytes, issued: int) -> str:
    digest = hmac.new(key, f"form:{issued}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_form_stamp(key: bytes, now: dt.datetime) -> str:
    """A signed "form shown at" time for the embed to send back with the comment."""
    issued = _unix(now)
    return f"{issued}.{_stamp_signature(key, issued)}"


def stamp_age(key: bytes, stamp: str, now: dt.datetime) -> int | None:
    """Seconds since a valid stamp was issued; None for a forged or malformed one."""
    issued_text, _, signature = stamp.partition(".")
    issued = whole_number(issued_text) if len(stamp) <= 64 else None
    if issued is None:
        return None
    try:
        expected = _stamp_signature(key, issued)
    except (binascii.Error, ValueError):  # pragma: no cover - the digest always encodes
        return None
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return _unix(now) - issued


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(
        re.escape(normal.text(word)) for word in sorted(words, key=len, reverse=True)
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


@dataclass(frozen=True)
class _Blocklists:
    """Everything a comment is checked against: the config's blocklists and the bans."""

    words: re.Pattern[str] | None
    addresses: frozenset[str]
    domains: tuple[str, ...]
    networks: tuple[str, ...]


class Screener:
    """Decides the status a new comment is stored with, per ``[moderation]``."""

    def __init__(
        self,
        config: Config,
        stamp_key: bytes,
        checker: SpamChecker | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.settings = config.moderation
        self.spam = config.spam
        self.stamp_key = stamp_key
        self.checker = checker
        self.clock = clock
        self._bans_read: tuple[float, _Blocklists] | None = None
        self._bans_lock = threading.Lock()

    def _blocklists(self) -> _Blocklists:
        """The config's blocklists joined with the bans, rebuilt when the bans are reread (at
        most every ``BANS_TTL`` seconds: they change rarely, and a ban reaches every process
        within that time)."""
        now = time.monotonic()
        with self._bans_lock:
            if self._bans_read is None or now - self._bans_read[0] >= BANS_TTL:
                banned = bans.lists()
                settings = self.settings
                emails = [normal.email(e) for e in settings.blocked_emails] + list(banned.emails)
                self._bans_read = (
                    now,
                    _Blocklists(
                        words=_word_pattern(settings.blocked_words + banned.words),
                        addresses=frozenset(e for e in emails if not e.startswith("@")),
                        domains=tuple(e for e in emails if e.startswith("@")),
                        networks=settings.blocked_networks + banned.networks,
                    ),
                )
            return self._bans_read[1]

    def form_stamp(self) -> str:
        """A fresh stamp for the embed's form."""
        return issue_form_stamp(self.stamp_key, self.clock())

    def _stamp_age(self, traps: Traps) -> int | None:
        return stamp_age(self.stamp_key, traps.form_stamp or "", self.clock())

    def trap(self, traps: Traps) -> str | None:
        """The bot trap sprung: ``honeypot`` (filled in) or ``time_trap`` (a forged or
        malformed form stamp); None for none."""
        if traps.honeypot:
            return "honeypot"
        if traps.form_stamp is None or not self.settings.min_submit_time:
            return None
        return "time_trap" if self._stamp_age(traps) is None else None

    def too_fast(self, traps: Traps) -> bool:
        """A genuine form stamp, sent back sooner than ``min_submit_time`` after it was issued."""
        if traps.form_stamp is None or not self.settings.min_submit_time:
            return False
        age = self._stamp_age(traps)
        return age is not None and age < self.settings.min_submit_time

    def blocklisted(self, submission: Submission, client: Client) -> bool:
        """Whether the config's blocklists or the bans (``commentd ban``) name the text,
        author, website, email or client network."""
        lists = self._blocklists()
        if lists.words is not None:
            # Each field on its own line: a phrase never spans the name and the text.
            said = "\n".join(
                normal.text(part or "")
                for part in (submission.text, submission.author, submission.website)
            )
            if lists.words.search(said):
                return True
        email = normal.email(submission.email or "")
        if email and (
            email in lists.addresses or any(email.endswith(domain) for domain in lists.domains)
        ):
            return True
        return bool(lists.networks) and client.within(lists.networks)

    def held_by_rules(self, submission: Submission, html: str, sender: Any = None) -> bool:
        """Whether the moderation mode holds this comment for approval. ``sender`` selects the
        comments of the same sender for the ``first`` rule (a Webmention's: its source's
        domain); by default, those with the submission's email (none: always held)."""
        mode = self.settings.mode
        if "all" in mode:
            return True
        if "links" in mode and "<a " in html:
            return True
        if "first" in mode:
            if sender is None and not submission.email:
                return True
            if sender is None:
                sender = Comment.email == submission.email
            known = Comment.select().where(sender & (Comment.status == Status.APPROVED))
            if not known.exists():
                return True
        return False

    def filter_score(self, submission: Submission) -> float | None:
        """The filter's score 0..1 of a submission; None when the filter is off or has not
        learned from enough comments of each class yet."""
        if not self.spam.filter:
            return None
        scored = spam_filter.score_text(
            submission.text,
            submission.author,
            submission.website,
            submission.email,
            self.spam.filter_min_trained,
        )
        if not scored.trained:
            metrics.FILTER_DECISIONS.inc({"decision": "silent"})
            return None
        percent = scored.value * 100
        decision = (
            "spam"
            if percent >= self.spam.filter_spam
            else "hold"
            if percent >= self.spam.filter_hold
            else "pass"
        )
        metrics.FILTER_DECISIONS.inc({"decision": decision})
        return scored.value

    def screen(
        self,
        submission: Submission,
        html: str,
        client: Client,
        traps: Traps,
        sender: Any = None,
    ) -> Verdict:
        """The status to store the comment with, and what caught it; raises ``403 blocked``
        to refuse it (counted as a ``blocklist`` refusal). ``sender``: see ``held_by_rules``."""
        trap = self.trap(traps)
        if trap is not None:
            return Verdict(Status.SPAM, trap)
        if self.blocklisted(submission, client):
            if self.settings.blocklist_action == "reject":
                record_catch("blocklist")
                raise Forbidden(BLOCKED, code="blocked")
            return Verdict(Status.PENDING, "blocklist")
        score = self.filter_score(submission)
        percent = None if score is None else score * 100
        if percent is not None and percent >= self.spam.filter_spam:
            return Verdict(Status.SPAM, "filter", score)
        if self.checker is not None and self.checker.is_spam(submission):
            return Verdict(Status.SPAM, "akismet", score)
        if percent is not None and percent >= self.spam.filter_hold:
            return Verdict(Status.PENDING, "filter", score)
        if self.too_fast(traps):
            return Verdict(Status.PENDING, "time_trap", score)
        held = self.held_by_rules(submission, html, sender)
        return Verdict(Status.PENDING if held else Status.APPROVED, None, score)
