"""Compressed responses: ``Content-Encoding: gzip`` for clients that accept it, and ``br``
(Brotli) for the static files.

Bodies are compressed once and kept: thread pages and counts in the response cache (an
``Encoded`` holds the plain body and its gzip beside it), static files in ``assets`` (gzip and
Brotli at its best level: the embed is a tenth smaller in ``br``). Each encoding has its own
strong ETag (``"<hash>-gzip"``, ``"<hash>-br"``), and every response that could have been
compressed says ``Vary: Accept-Encoding``, so a proxy or CDN keeps them apart.

``Compressor`` compresses the rest of the public answers bottle gives (JSON and HTML over
``MIN_SIZE``) as they leave. It never compresses a response that may carry a secret next to
text a stranger chose: nothing under ``/admin``, ``/moderate``, ``/unsubscribe`` or
``/metrics`` (only ``PUBLIC_PREFIXES`` qualify), no write, nothing that sets a cookie. That
is the BREACH attack's precondition, and a comment page is made of strangers' text.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable
from typing import Any

from commentd.services.cache import MEMO_ENTRIES, MEMO_KEY_SIZE, Memo

MIN_SIZE = 1024  # smaller bodies gain less than the header and the CPU cost
LEVEL = 6  # zlib's default: within 1% of level 9 on our JSON, about twice as fast
GZIP = "gzip"
BROTLI = "br"
VARY = "Accept-Encoding"
COMPRESSIBLE_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/atom+xml",
        "image/svg+xml",
        "text/css",
        "text/html",
        "text/javascript",
        "text/plain",
    }
)
PUBLIC_PREFIXES = ("/api/", "/feed/", "/js/", "/static/", "/html/")
PUBLIC_PATHS = frozenset({"/", "/health"})


class Encoded:
    """A body and, when it is worth it, its gzip; ``len()`` is the bytes both hold."""

    __slots__ = ("gzip", "plain")

    def __init__(self, plain: bytes, packed: bytes | None):
        self.plain = plain
        self.gzip = packed

    def __len__(self) -> int:
        return len(self.plain) + (len(self.gzip) if self.gzip is not None else 0)

    def pick(self, gzip_ok: bool) -> tuple[bytes, bool]:
        """The body to send a client (``gzip_ok``: it accepts gzip), and whether it is gzip."""
        if gzip_ok and self.gzip is not None:
            return self.gzip, True
        return self.plain, False


def compress(body: bytes) -> bytes | None:
    """``body`` gzipped (no timestamp, so the same body gives the same bytes), or None when
    it is under ``MIN_SIZE`` or would not shrink."""
    if len(body) < MIN_SIZE:
        return None
    packed = gzip.compress(body, compresslevel=LEVEL, mtime=0)
    return packed if len(packed) < len(body) else None


def encode(body: bytes) -> Encoded:
    """``body`` with its gzip beside it (when worth it)."""
    return Encoded(body, compress(body))


def _parse_accepted(header: str) -> frozenset[str]:
    accepted: dict[str, bool] = {}
    for member in header.split(","):
        name, _, params = member.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        accepted[name] = quality > 0
    taken = set()
    for coding, names in ((GZIP, (GZIP, "x-gzip")), (BROTLI, (BROTLI,))):
        named = [accepted[name] for name in names if name in accepted]
        if named[0] if named else accepted.get("*", False):
            taken.add(coding)
    return frozenset(taken)


_accepts: Memo[frozenset[str]] = Memo(MEMO_ENTRIES, MEMO_KEY_SIZE)


def accepted_codings(environ: dict) -> frozenset[str]:
    """The codings of ours (``gzip``, ``br``) the request's ``Accept-Encoding`` takes
    (RFC 9110 12.5.3: ``q=0`` refuses one, ``*`` stands for any not named)."""
    header = environ.get("HTTP_ACCEPT_ENCODING")
    if not header:
        return frozenset()
    return _accepts.get(header, lambda: _parse_accepted(header))


def accepts_gzip(environ: dict) -> bool:
    """Whether the request's ``Accept-Encoding`` takes gzip."""
    return GZIP in accepted_codings(environ)


def coding_tag(tag: str, coding: str) -> str:
    """The ETag of the ``coding`` (``gzip``, ``br``) encoding of the one tagged ``tag``."""
    return f'{tag[:-1]}-{coding}"'


def gzip_tag(tag: str) -> str:
    """The ETag of the gzip encoding of the representation tagged ``tag``."""
    return coding_tag(tag, GZIP)


def joined_vary(existing: str | None, token: str = VARY) -> str:
    """A ``Vary`` value naming what ``existing`` named (if anything) and ``token``, once."""
    names = [part.strip() for part in (existing or "").split(",") if part.strip()]
    if token.lower() not in (name.lower() for name in names):
        names.append(token)
    return ", ".join(names)


def with_vary(headers: list[tuple[str, str]], token: str = VARY) -> list[tuple[str, str]]:
    """``headers`` with one ``Vary`` field that names ``token`` and everything it named."""
    named = ", ".join(value for name, value in headers if name.lower() == "vary")
    rest = [(name, value) for name, value in headers if name.lower() != "vary"]
    return [*rest, ("Vary", joined_vary(named, token))]


def _header(headers: list[tuple[str, str]], wanted: str) -> str | None:
    wanted = wanted.lower()
    for name, value in headers:
        if name.lower() == wanted:
            return value
    return None


def public_path(path: str) -> bool:
    """Whether answers at ``path`` carry nothing secret, and so may be compressed."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class Compressor:
    """WSGI middleware: gzip the public JSON, HTML, CSS and JS answers ``wsgi`` gives.

    Answers that negotiated their encoding themselves (they carry an ETag or a
    ``Content-Encoding``: thread reads, counts, static files) pass as they are, with
    ``Vary: Accept-Encoding`` made sure of.
    """

    def __init__(self, wsgi: Callable):
        self.wsgi = wsgi

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not public_path(environ.get("PATH_INFO", "")):
            return self.wsgi(environ, start_response)
        captured: list[Any] = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured[:] = [status, headers, exc_info]
            return _no_write

        body = self.wsgi(environ, capture)
        status, headers, exc_info = captured
        content_type = (_header(headers, "Content-Type") or "").split(";")[0].strip().lower()
        if content_type in COMPRESSIBLE_TYPES:
            headers = with_vary(headers)
            if self._compressible(environ, status, headers, body) and accepts_gzip(environ):
                packed = compress(b"".join(body))
                if packed is not None:
                    headers = [
                        (name, value) for name, value in headers if name.lower() != "content-length"
                    ]
                    headers += [("Content-Encoding", GZIP), ("Content-Length", str(len(packed)))]
                    body = [packed]
        start_response(status, headers, exc_info)
        return body

    @staticmethod
    def _compressible(environ: dict, status: str, headers: list, body: Iterable[bytes]) -> bool:
        return (
            environ.get("REQUEST_METHOD") == "GET"
            and status.startswith("200")
            and isinstance(body, list)
            and not any(
                name.lower() in ("content-encoding", "etag", "set-cookie") for name, _ in headers
            )
        )


def _no_write(data: bytes) -> None:
    raise RuntimeError("commentd's compressor does not support WSGI's write()")
