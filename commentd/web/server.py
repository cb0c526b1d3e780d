"""Running the app under waitress: body cap, JSON errors, an access log, clean SIGTERM.

waitress buffers a request body before the app sees it, so the body limit is enforced by
waitress itself (``max_request_body_size``); its own error responses (413, malformed
requests) are rewritten to commentd's JSON error body.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from commentd.web.scope import BOTTLE_CODES, error_body
from commentd.web.serialize import dumps

log = logging.getLogger("commentd.access")

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


class AccessLog:
    """WSGI middleware logging one line per request: method, path, status, bytes, time.

    No client address and no query string are logged (the query may name a reader's page;
    addresses are personal data).
    """

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info)

        body = self.app(environ, recording_start_response)
        size = 0
        try:
            for chunk in body:
                size += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            log.info(
                "%s %s %s %d %.1fms",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                seen.get("status", "-"),
                size,
                (time.perf_counter() - started) * 1000,
            )


def make_server(app: Callable, *, host: str, port: int, threads: int, max_body_size: int) -> Any:
    """A waitress server for ``app``, not yet running."""
    server = create_server(
        AccessLog(app),
        host=host,
        port=port,
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
