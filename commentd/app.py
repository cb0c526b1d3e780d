"""The application factory: ``create_app(config)`` builds the WSGI app.

It opens the database (running any pending migration and loading the site secret) and does
no other I/O, so any WSGI server can run what it returns and tests can build one per test.
"""

from __future__ import annotations

import bottle

from commentd.config import Config
from commentd.services.cache import ResponseCache
from commentd.services.clients import AddressResolver
from commentd.services.comments import CommentService
from commentd.services.fediverse.inbox import Inbox
from commentd.services.fediverse.keys import account_keys
from commentd.services.fediverse.reads import Documents
from commentd.services.fediverse.remote import Remote
from commentd.services.guard import RateLimiter
from commentd.services.screening import Screener
from commentd.services.site import open_site
from commentd.services.spam import checker_for
from commentd.services.subscriptions import Subscriptions
from commentd.services.threads import ThreadService
from commentd.services.webmention import Receiver
from commentd.web import (
    admin,
    api,
    avatars,
    fastpath,
    fediverse,
    html,
    links,
    metrics,
    pages,
    serialize,
    webmention,
)
from commentd.web.compression import Compressor
from commentd.web.origins import OriginPolicy
from commentd.web.scope import RequestScope, install_error_handler


def create_app(config: Config) -> bottle.Bottle:
    """Build the WSGI application for ``config``."""
    site = open_site(config)
    keys = site.keys
    screener = Screener(config, keys.form_stamp, checker_for(config))
    limiter = RateLimiter(config)
    comments = CommentService(config, keys, limiter, screener=screener, events=site.events)
    services = api.Services(
        config=config,
        keys=keys,
        comments=comments,
        threads=ThreadService(config),
        addresses=AddressResolver(config.server.trusted_proxies),
        responses=ResponseCache(config.cache.memory),
        origins=OriginPolicy(config),
        subscriptions=Subscriptions(config, keys),
    )
    origins = services.origins
    app = bottle.Bottle(catchall=True)
    app.uninstall("json")
    app.install(bottle.JSONPlugin(json_dumps=serialize.dumps))
    app.config["commentd.config"] = config
    install_error_handler(app, origins)
    app.install(RequestScope(origins))
    reads = api.register(app, services)
    html.register(app, services, reads)
    links.register(app, site)
    admin.register(app, site, limiter, services.addresses)
    pages.register(app, config, reads)
    webmention.register(app, services, Receiver(config, keys.webmention_status), limiter)
    inbox = Inbox(config, Remote(config, account_keys), lambda: (screener, site.events))
    fediverse.register(app, Documents(config), inbox, config.server.max_body_size)
    avatars.register(app)
    # the fast path inside the metrics: its answers are counted and logged like any other
    metrics.install(
        app, config, services.addresses, fastpath.wrap(app, reads, origins, Compressor(app.wsgi))
    )
    return app
