"""Proof of work: which new comments must carry a solved challenge, and how hard it is.

``[spam] proof_of_work``: ``off`` asks nothing; ``always`` asks every comment sent to the JSON
API; ``suspicious`` (the default) asks only when a signal says so. The signals:

- *links*: the rendered text has a link;
- *burst*: ``burst_comments`` or more comments came from the client's network (IPv4 /24,
  IPv6 /48) within the last ``burst_window``;
- *screening*: the embed's bot traps were sprung (honeypot, forged form stamp), the form came
  back sooner than ``[moderation] min_submit_time``, or a blocklist matches;
- *new network*: no approved comment ever came from the client's network.

In ``suspicious`` mode a reader with an approved comment (by the embed's reader id or by the
email address) asks nothing, and neither does a comment with no signal but *new network* (a
clean first comment). Otherwise the difficulty (a challenge's ``maxnumber``) is
``pow_max_number * pow_factor ** (signals - 1)``, counting *new network* too; in ``always`` mode
it is ``pow_max_number * pow_factor ** signals`` and a trusted reader counts no signal.

A solution is good once: its challenge is kept in ``UsedToken`` (``pow:`` and 60 of its hex
digits) in the transaction that stores the comment, so two processes cannot both take it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from commentd.config import Config
from commentd.errors import ChallengeRequired
from commentd.services import altcha, metrics
from commentd.services.altcha import ChallengeError, Proof
from commentd.services.clients import Client
from commentd.storage.models import Comment, Status, UsedToken, utcnow

NONCE_PREFIX = "pow:"
MAX_DIFFICULTY = 100_000_000
MESSAGES = {
    "missing": "This comment needs a proof of work; solve the challenge and send it again.",
    "reused": "This proof of work was already used; solve the new challenge.",
    "too_easy": "This comment needs a harder proof of work; solve the new challenge.",
}


@dataclass(frozen=True)
class Signals:
    """What is known of a new comment's sender and text, for its difficulty."""

    trusted: bool = False
    links: bool = False
    burst: bool = False
    screening: bool = False
    new_network: bool = False

    @property
    def count(self) -> int:
        return sum((self.links, self.burst, self.screening, self.new_network))

    @property
    def strong(self) -> bool:
        """A signal that asks for a challenge on its own (a new network only raises one)."""
        return self.links or self.burst or self.screening


def nonce(proof: Proof) -> str:
    """The ``UsedToken`` key of a spent solution."""
    return NONCE_PREFIX + proof.challenge[:60]


class ProofOfWork:
    """Decides, issues and checks proof-of-work challenges, per ``[spam]``."""

    def __init__(self, config: Config, key: bytes, clock: Callable[[], dt.datetime] = utcnow):
        self.settings = config.spam
        self.key = key
        self.clock = clock

    @property
    def mode(self) -> str:
        return self.settings.proof_of_work

    # -- deciding -----------------------------------------------------------------------

    def signals(
        self,
        client: Client,
        reader: str | None,
        email: str | None = None,
        html: str = "",
        screened: bool = False,
    ) -> Signals:
        """The signals of a comment from ``client`` (``reader``: the reader id's keyed hash)."""
        if self.mode == "off":
            return Signals()
        if self._trusted(reader, email):
            return Signals(trusted=True)
        network = client.network
        return Signals(
            links="<a " in html,
            burst=self._burst(network),
            screening=screened,
            new_network=network is None or not self._approved(Comment.remote_addr == network),
        )

    def _approved(self, who) -> bool:
        return Comment.select().where(who & (Comment.status == Status.APPROVED)).exists()

    def _trusted(self, reader: str | None, email: str | None) -> bool:
        return (reader is not None and self._approved(Comment.reader == reader)) or (
            bool(email) and self._approved(Comment.email == email)
        )

    def _burst(self, network: str | None) -> bool:
        settings = self.settings
        if not settings.burst_comments or network is None:
            return False
        since = self.clock() - dt.timedelta(seconds=settings.burst_window)
        recent = Comment.select().where(
            (Comment.remote_addr == network) & (Comment.created >= since)
        )
        return recent.limit(settings.burst_comments).count() >= settings.burst_comments

    def difficulty(self, signals: Signals) -> int:
        """The ``maxnumber`` a solution must have been made for; 0 when none is asked."""
        base, factor = self.settings.pow_max_number, self.settings.pow_factor
        if self.mode == "always":
            steps = 0 if signals.trusted else signals.count
        elif self.mode == "suspicious" and signals.strong:
            steps = signals.count - 1
        else:
            return 0
        return min(base * factor**steps, MAX_DIFFICULTY)

    # -- issuing and checking -----------------------------------------------------------

    def challenge(self, max_number: int) -> dict:
        """A fresh challenge of that difficulty, as ALTCHA JSON."""
        expires = self.clock() + dt.timedelta(seconds=self.settings.pow_expiry)
        metrics.CHALLENGES.inc({"result": "issued"})
        return altcha.issue(self.key, max_number, expires).to_dict()

    def refuse(self, reason: str, max_number: int, message: str | None = None) -> ChallengeRequired:
        """``403 challenge_required`` with a fresh challenge, counted under ``reason``."""
        metrics.CHALLENGES.inc({"result": reason})
        return ChallengeRequired(
            message or MESSAGES[reason], reason=reason, challenge=self.challenge(max_number)
        )

    def check(self, payload: object, required: int) -> Proof:
        """The proof a solution gives, at least ``required`` hard; else ``challenge_required``.
        Whether it was used before is known only in the comment's transaction (``spend``)."""
        if payload is None or payload == "":
            raise self.refuse("missing", required)
        try:
            proof = altcha.verify(self.key, payload, self.clock())
        except ChallengeError as error:
            raise self.refuse(error.reason, required, error.message) from None
        if proof.max_number < required:
            raise self.refuse("too_easy", required)
        return proof

    def spend(self, proof: Proof, required: int) -> None:
        """Mark the solution used, in the caller's write transaction; ``reused`` if it was."""
        key = nonce(proof)
        if UsedToken.get_or_none(UsedToken.nonce == key) is not None:
            raise self.refuse("reused", required)
        UsedToken.create(nonce=key, used=self.clock(), expires=proof.expires)
        # Spent solutions past their expiry prove nothing any more: forget them (indexed).
        UsedToken.delete().where(
            (UsedToken.expires < self.clock()) & UsedToken.nonce.startswith(NONCE_PREFIX)
        ).execute()

    def was_spent(self, proof: Proof) -> bool:
        """Whether another request spent this solution (a race lost on the unique key)."""
        return UsedToken.get_or_none(UsedToken.nonce == nonce(proof)) is not None

    def solved(self) -> None:
        metrics.CHALLENGES.inc({"result": "solved"})
