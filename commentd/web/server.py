"""Running the app under waitress: body cap, JSON errors, clean SIGTERM.

waitress buffers a request body before the app sees it, so the body limit is enforced by
waitress itself (``max_request_body_size``); its own error responses (413, malformed
requests) are rewritten to commentd's JSON error body.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from commentd.web.scope import BOTTLE_CODES, error_body
from commentd.web.serialize import dumps

WAITRESS_CODES = {**BOTTLE_CODES, 431: ("headers_too_large", "The request headers are too large.")}


class JSONErrorTask(ErrorTask):
    """waitress's protocol-level error responses, as commentd JSON."""

    def execute(self) -> None:
        error = self.request.error
        code, message = WAITRESS_CODES.get(error.code, (f"http_{error.code}", error.reason))
        body = dumps(error_body(code, message)).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        # The body says nothing private, so any page may read why its request failed.
        origin = self.request.headers.get("ORIGIN")
        if origin:
            self.response_headers.append(("Access-Control-Allow-Origin", origin))
        self.response_headers.append(("Vary", "Origin"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JSONErrorChannel(HTTPChannel):
    error_task_class = JSONErrorTask


def make_server(
    app: Callable,
    *,
    host: str | None = None,
    port: int | None = None,
    threads: int,
    max_body_size: int,
    sockets: list | None = None,
) -> Any:
    """A waitress server for ``app`` on ``host``/``port`` or on bound ``sockets``, not yet
    running."""
    address: dict[str, Any] = {"sockets": sockets} if sockets else {"host": host, "port": port}
    server = create_server(
        app,  # the access log is written by the app (commentd.web.accesslog)
        **address,
        threads=threads,
        max_request_body_size=max_body_size + 1,  # waitress refuses sizes >= its limit
        ident="commentd",
        # X-Forwarded-For reaches the app, which trusts it only from [server] trusted_proxies.
        clear_untrusted_proxy_headers=False,
    )
    server.channel_class = JSONErrorChannel
    return server


def run(server: Any) -> None:
    """Serve until SIGTERM or Ctrl-C, then finish the requests under way and return."""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    server.run()
