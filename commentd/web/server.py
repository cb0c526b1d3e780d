"""Running the app under waitress: body cap, JSON errors, kept-alive 304s, no busy loop,
clean SIGTERM.

waitress buffers a request body before the app sees it, so the body limit is enforced by
waitress itself (``max_request_body_size``); its own error responses (413, malformed
requests) are rewritten to commentd's JSON error body.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from waitress.server import create_server
from waitress.task import ErrorTask, WSGITask

from commentd.web.channel import NoSpinChannel
from commentd.web.scope import BOTTLE_CODES, error_body
from commentd.web.serialize import dumps

# waitress warns "Task queue depth is N" each time a request waits for a free thread: under
# load that is a log line per request, written by the thread that does all the socket I/O.
# The request-duration histogram in /metrics shows queueing instead.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

# glibc gives each thread that finds the others' arenas locked an arena of its own, up to 8
# per core, and memory freed in one arena is not reused by another: under a write soak the
# server's threads (and SQLite, which allocates without the GIL) spread over up to 8 arenas
# and keep more freed memory resident. See "Memory under a write soak" in
# docs/performance.md.
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # mallopt(3)

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
        self.response_headers.append(("Access-Control-Allow-Origin", "*"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class KeepAliveTask(WSGITask):
    """waitress's WSGI task, but a response that has no body keeps its connection open.

    waitress 3 closes the connection after every HTTP/1.1 response without a
    ``Content-Length``, including 304, 204 and 1xx, which by definition end at their headers
    (RFC 9112, section 6.3) and must not carry a length. A 304 is the commonest answer to a
    revalidating reader or proxy, and a new TCP connection for each one would cost more than
    the answer.
    """

    def build_response_header(self) -> bytes:
        keep_alive = (
            not self.has_body
            and self.version == "1.1"
            and not self.close_on_finish
            and self.request.headers.get("CONNECTION", "").lower() != "close"
        )
        header = super().build_response_header()
        if keep_alive and self.close_on_finish:
            # the only reason left to close was the missing length: undo it
            self.close_on_finish = False
            header = header.replace(b"\r\nConnection: close\r\n", b"\r\n", 1)
        return header


class Channel(NoSpinChannel):
    """waitress's channel, without its busy loop, with commentd's tasks."""

    task_class = KeepAliveTask
    error_task_class = JSONErrorTask


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc use at most ``arenas`` arenas; whether it was set.

    Call it before any thread starts (arenas are made as threads allocate). Left alone when
    ``MALLOC_ARENA_MAX`` is set, which glibc reads itself (the operator's choice), and where
    the C library has no ``mallopt`` (not glibc) or refuses it.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(M_ARENA_MAX, arenas) == 1


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
    server.channel_class = Channel
    return server


def run(server: Any) -> None:
    """Serve until SIGTERM or Ctrl-C, then finish the requests under way and return."""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    server.run()
