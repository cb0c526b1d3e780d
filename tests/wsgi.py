"""Calling a WSGI app in-process with an environ built by hand, as a server would pass it.

Header values and the path are ``str`` holding one character per byte (PEP 3333's
"bytes as latin-1"), so a test can send exactly the bytes a hostile client would.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

Wsgi = Callable[[dict, Callable], Any]


def call(
    wsgi: Wsgi,
    method: str,
    path: str,
    query: dict | str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[str, list[tuple[str, str]], bytes]:
    """One request: (status line, headers with lower-cased names, sorted, body).

    ``query`` is a dict to encode or a raw query string; ``headers`` go in as
    ``HTTP_*`` keys, except ``Content-Type`` and ``Content-Length``, which WSGI names
    without the prefix. A body sets ``CONTENT_LENGTH`` unless a header gives one.
    """
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query if isinstance(query, str) else urlencode(query or {}, doseq=True),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    seen: dict[str, Any] = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, response_headers

    chunks = wsgi(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return seen["status"], sorted((k.lower(), v) for k, v in seen["headers"]), data
