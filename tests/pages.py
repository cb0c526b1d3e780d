"""A real HTTP server on loopback serving pages a test writes: the other sites of Webmention
tests (h-entry pages, redirects, slow or huge answers, endpoints that record what they got)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """What a path answers: status, headers and body; ``delay`` seconds before the body;
    ``chunks`` to send the body in pieces without a Content-Length."""

    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html"})
    delay: float = 0.0
    chunked: bool = False


@dataclass
class Received:
    """A request the server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Site:
    """The pages of one loopback site: ``site.pages[path] = Answer(...)`` (or a callable
    taking the ``Received`` request and giving an ``Answer``); ``site.url(path)``."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.pages: dict[str, Answer | Callable[[Received], Answer]] = {}
        self.received: list[Received] = []

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            site.received.append(request)
            page = site.pages.get(self.path.split("?")[0]) or Answer("not found", 404)
            answer = page(request) if callable(page) else page
            body = answer.body.encode() if isinstance(answer.body, str) else answer.body
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                for one in value.split("\n"):
                    self.send_header(name, one)
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if answer.delay:
                time.sleep(answer.delay)
            if answer.chunked:
                for start in range(0, len(body), 4096):
                    piece = body[start : start + 4096]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _answer

    return Handler


@contextmanager
def serving(host: str = "127.0.0.1") -> Iterator[Site]:
    """A site on ``host`` (any loopback address: 127.0.0.2 is another site) and a free port."""
    server = ThreadingHTTPServer((host, 0), None)  # type: ignore[arg-type]
    site = Site(host, server.server_address[1])
    server.RequestHandlerClass = _handler(site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
