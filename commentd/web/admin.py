"""The web admin page under /admin.

(Skeleton: filled in by the admin page work.)
"""

from __future__ import annotations

import bottle

from commentd.services.clients import AddressResolver
from commentd.services.guard import RateLimiter
from commentd.services.site import Site


def register(
    app: bottle.Bottle, site: Site, limiter: RateLimiter, addresses: AddressResolver
) -> None:
    """Add the admin routes to ``app``."""
