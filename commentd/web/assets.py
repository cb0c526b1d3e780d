"""Static files as they are sent: read once, minified (JavaScript, CSS, JSON), compressed, kept.

The files in ``commentd/static`` ship as readable source. The first request for one reads
it, strips comments and whitespace from JavaScript and CSS (rjsmin and rcssmin: they keep
``/*! ... */`` notices and change nothing else) and the whitespace between JSON's tokens
(the translations), compresses the result once, in gzip and in Brotli (level 11, its best:
worth its few milliseconds once per file, a tenth smaller than gzip), and keeps the bodies
with their ETags; a file changed on disk (a new mtime or size) is read again. The ETag
hashes the content, so every process serving the same release gives the same ones.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import threading
import time
from email.utils import formatdate
from pathlib import Path
from typing import NamedTuple

import bottle
import brotli
import rcssmin
import rjsmin

from commentd.web.caching import none_match
from commentd.web.compression import (
    BROTLI,
    GZIP,
    MIN_SIZE,
    VARY,
    Encoded,
    accepted_codings,
    coding_tag,
    encode,
)

TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
MINIFIERS = {
    ".js": lambda text: rjsmin.jsmin(text, keep_bang_comments=True),
    ".css": lambda text: rcssmin.cssmin(text, keep_bang_comments=True),
    ".json": lambda text: json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")),
}


class Asset(NamedTuple):
    """One file, ready to send."""

    body: Encoded
    brotli: bytes | None  # the body in Brotli, when it is worth it
    content_type: str
    tag: str  # the plain body's ETag; an encoding's is ``coding_tag(tag, coding)``
    modified: float  # the file's mtime, for Last-Modified and If-Modified-Since
    stamp: tuple[int, int]  # (mtime_ns, size): a different one means the file changed


def content_type_of(path: Path) -> str:
    """The ``Content-Type`` bottle's ``static_file`` would give ``path``."""
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mimetype.startswith(TEXT_TYPES) and "charset" not in mimetype:
        mimetype += "; charset=UTF-8"
    return mimetype


def prepared(path: Path) -> bytes:
    """The bytes to send for ``path``: JavaScript, CSS and JSON minified, anything else as
    it is."""
    data = path.read_bytes()
    minify = MINIFIERS.get(path.suffix)
    if minify is None:
        return data
    return minify(data.decode("utf-8")).encode("utf-8")


def load(path: Path, stat: os.stat_result) -> Asset:
    body = prepared(path)
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(
        encode(body), brotli_of(body), content_type_of(path), tag, stat.st_mtime, _stamp(stat)
    )


def brotli_of(body: bytes) -> bytes | None:
    """``body`` in Brotli at its best level, or None when it is small or would not shrink."""
    if len(body) < MIN_SIZE:
        return None
    packed = brotli.compress(body, quality=11)
    return packed if len(packed) < len(body) else None


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_mtime_ns, stat.st_size


class Assets:
    """The files under ``root``, each loaded on its first request and kept until it changes."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self._kept: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Asset | None:
        """The file ``name`` (a path relative to ``root``), or None if there is none."""
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        asset = self._kept.get(name)
        if asset is None or asset.stamp != _stamp(stat):
            with self._lock:
                asset = load(path, stat)
                self._kept[name] = asset
        return asset

    def response(self, name: str) -> bottle.HTTPResponse:
        """``name`` answered for the current request: ``200`` in the encoding the client
        takes, an empty ``304`` when it holds this version, or a JSON ``404``."""
        try:
            asset = self.get(name)
        except PermissionError:
            return bottle.HTTPError(403, "You do not have permission to access this file.")
        if asset is None:
            return bottle.HTTPError(404, "File does not exist.")
        return answer(asset, bottle.request.environ)


def answer(asset: Asset, environ: dict) -> bottle.HTTPResponse:
    """The response to a GET or HEAD of ``asset`` for the request in ``environ``."""
    codings = accepted_codings(environ)
    coding = BROTLI if BROTLI in codings and asset.brotli is not None else None
    if coding:
        body = asset.brotli
    else:
        body, gzipped = asset.body.pick(GZIP in codings)
        coding = GZIP if gzipped else None
    tag = coding_tag(asset.tag, coding) if coding else asset.tag
    headers = {
        "ETag": tag,
        "Last-Modified": formatdate(asset.modified, usegmt=True),
        "Vary": VARY,
    }
    if _not_modified(environ, tag, asset.modified):
        return bottle.HTTPResponse(status=304, headers=headers)
    headers["Content-Type"] = asset.content_type
    headers["Content-Length"] = str(len(body))
    if coding:
        headers["Content-Encoding"] = coding
    return bottle.HTTPResponse(body, status=200, headers=headers)


def _not_modified(environ: dict, tag: str, modified: float) -> bool:
    """RFC 9110 13.2.2: ``If-None-Match`` decides when present, else ``If-Modified-Since``."""
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match:
        return none_match(match, tag)
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if not since:
        return False
    parsed = bottle.parse_date(since.split(";")[0].strip())
    return parsed is not None and parsed >= int(modified) and parsed <= time.time()
