"""The pages behind links in mails: one-click moderation and unsubscribe.

(Skeleton: filled in by the notifications work.)
"""

from __future__ import annotations

import bottle

from commentd.services.site import Site


def register(app: bottle.Bottle, site: Site) -> None:
    """Add the mail-link routes to ``app``."""
