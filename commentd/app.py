"""The application factory: ``create_app(config)`` builds the WSGI app.

It opens the database (running any pending migration and loading the site secret) and does
no other I/O, so any WSGI server can run what it returns and tests can build one per test.
"""

from __future__ import annotations

import bottle

from commentd.config import Config
from commentd.services.clients import AddressResolver
from commentd.services.comments import CommentService
from commentd.services.guard import RateLimiter
from commentd.services.keys import Keys, stored_secret
from commentd.services.threads import ThreadService
from commentd.storage.database import connection, open_database
from commentd.storage.migrations import migrate
from commentd.web import api, pages, serialize
from commentd.web.origins import OriginPolicy
from commentd.web.scope import RequestScope, install_error_handler


def create_app(config: Config) -> bottle.Bottle:
    """Build the WSGI application for ``config``."""
    db = open_database(config.database.url)
    with connection():
        migrate(db)
        secret = config.security.secret or stored_secret()
    keys = Keys.from_secret(secret)
    services = api.Services(
        config=config,
        keys=keys,
        comments=CommentService(config, keys, RateLimiter(config)),
        threads=ThreadService(config),
        addresses=AddressResolver(config.server.trusted_proxies),
    )
    origins = OriginPolicy(config)
    app = bottle.Bottle(catchall=True)
    app.uninstall("json")
    app.install(bottle.JSONPlugin(json_dumps=serialize.dumps))
    app.config["commentd.config"] = config
    install_error_handler(app, origins)
    app.install(RequestScope(origins))
    api.register(app, services)
    pages.register(app)
    return app
