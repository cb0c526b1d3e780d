"""Rate limits: how often one client network may post, vote or report.

Fixed windows counted in the database (per rule, one upsert that returns the count), so the
limits hold across every process serving a site. The key is the client's anonymized network
(IPv4 /24, IPv6 /48): the same network that is stored with a comment, never the full address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from commentd.config import Config
from commentd.errors import TooManyRequests
from commentd.services.clients import Client
from commentd.storage import writes
from commentd.storage.database import batched_write

MINUTE, HOUR = 60, 3600
LOGIN_WINDOW = 15 * MINUTE


class _Window(NamedTuple):
    """One limit's current window for one client network."""

    key: str  # the counter's key: action, window length, network
    number: int  # which window (the time divided by its length)
    allowed: int
    now: int
    ends: int  # when it is over (a counted hit expires then)


class RateLimiter:
    """Counts actions per client network and refuses those over the configured allowance."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.time):
        limits = config.ratelimit
        self.rules = {
            "comment": [(MINUTE, limits.comments_per_minute), (HOUR, limits.comments_per_hour)],
            "vote": [(MINUTE, limits.votes_per_minute)],
            "report": [(HOUR, limits.reports_per_hour)],
            "login": [(LOGIN_WINDOW, config.admin.login_attempts)],
            # a Webmention is a comment from another site's server: the same allowance
            "webmention": [
                (MINUTE, limits.comments_per_minute),
                (HOUR, limits.comments_per_hour),
            ],
        }
        self.clock = clock

    def hit(self, action: str, client: Client) -> None:
        """Count one ``action`` by ``client``; raise 429 with Retry-After when over a limit."""
        count = self.counter(action, client)
        if count is not None:
            batched_write(count)  # a refusal rolls its own hits back

    def counter(self, action: str, client: Client) -> Callable[[], None] | None:
        """The write that counts one ``action`` by ``client`` and raises 429 when that is over
        a limit, for a write transaction of the caller's; None when no limit is set."""
        windows = self._windows(action, client)
        if not windows:
            return None

        def count() -> None:
            for window in windows:
                if _count(window) > window.allowed:
                    raise _refusal(action, window.ends - window.now)

        return count

    def check(self, action: str, client: Client) -> None:
        """Raise 429 when ``client`` has used up an allowance of ``action``; count nothing.

        For actions counted only when they fail (a wrong admin password): the check comes
        first, so once the allowance is used even a right attempt is refused.
        """
        for window in self._windows(action, client):
            if writes.hits_of(window.key, window.number) >= window.allowed:
                raise _refusal(action, window.ends - window.now)

    def _windows(self, action: str, client: Client) -> list[_Window]:
        """The current window of each limit set for ``action`` (none when all are off)."""
        now = int(self.clock())
        network = client.network or "unknown"
        windows = []
        for length, allowed in self.rules[action]:
            if allowed > 0:
                number = now // length
                key = f"{action}:{length}:{network}"
                windows.append(_Window(key, number, allowed, now, (number + 1) * length))
        return windows


def _count(window: _Window) -> int:
    """Add one hit to ``window`` and return its hits so far."""
    hits = writes.count_hit(window.key, window.number, window.ends)
    if hits == 1:  # a new window: forget the windows that are over, for every key
        writes.forget_hits_before(window.now)
    return hits


def _refusal(action: str, retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        f"Too many {action}s from your network; try again in {retry_after} s.",
        headers={"Retry-After": str(max(retry_after, 1))},
    )
