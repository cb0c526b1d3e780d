"""The WSGI application for other servers: ``gunicorn commentd.wsgi:application``.

The configuration comes from the file named by ``COMMENTD_CONFIG`` and the
``COMMENTD_<SECTION>_<KEY>`` environment variables, read once when this module is imported
(in each worker of a forking server, unless it preloads the app). Only the app is served:
the outbox (queued mail and webhooks) needs ``commentd outbox run`` alongside, and the
``[server]`` host, port, threads and workers settings are the other server's business.
See docs/scaling.md.
"""

from __future__ import annotations

from commentd.app import create_app
from commentd.config import load_config

application = create_app(load_config())
