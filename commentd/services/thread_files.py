"""One file per thread in a folder, for static sites: ``<out>/<uri>/comments.<ext>``.

A site build runs ``commentd export --format html|json-threads --out DIR`` every time; only the
threads whose version (or closed state) changed since the last run are written again. A
manifest in the folder (``.commentd-export.json``) remembers each thread's version and file,
and a ``stamp`` naming what else the files depend on (the commentd version, the settings):
a different stamp rewrites everything. Files of threads that are gone are removed.

A uri maps to a folder below ``out`` and never outside it: its path's segments (decoded; what
file systems refuse encoded, see ``_segment``), with ``.`` and ``..`` dropped; a query joins
the last segment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from commentd.errors import CommentdError
from commentd.services.threads import PageQuery, ThreadPage, ThreadService
from commentd.storage.models import Thread

MANIFEST = ".commentd-export.json"
Render = Callable[[ThreadPage], bytes]  # a thread page -> the bytes of its file
MAX_SEGMENT = 200  # bytes; file systems allow 255
UNSAFE = frozenset('/\\?*:<>|"%')


@dataclass
class ThreadFiles:
    """What a run did."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)  # uris that map onto another's folder


def _segment(text: str) -> str:
    """A folder name for one segment of a uri's path: its percent-escapes decoded (names are
    UTF-8), and what file systems refuse (``/ \\ ? * : < > | "``, ``%``, control characters)
    encoded again."""
    name = "".join(
        f"%{ord(ch):02X}" if ch in UNSAFE or ord(ch) < 32 or ord(ch) == 127 else ch
        for ch in unquote(text)
    )
    if len(name.encode()) > MAX_SEGMENT:  # keep it unique within the file system's limit
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        name = f"{name.encode()[: MAX_SEGMENT - 17].decode(errors='ignore')}-{digest}"
    return name


def folder_of(uri: str) -> PurePosixPath:
    """The folder, relative to the export's, of the thread keyed by ``uri``."""
    parts = urlsplit(uri)
    path = parts.path if (parts.scheme or parts.netloc) else uri.split("?", 1)[0]
    query = parts.query if (parts.scheme or parts.netloc) else uri.partition("?")[2]
    segments = [s for s in path.split("/") if unquote(s) not in ("", ".", "..")]
    if query:
        segments = [*segments[:-1], (segments[-1] if segments else "") + "?" + query]
    if not segments:
        return PurePosixPath(".")
    return PurePosixPath(*(_segment(s) for s in segments))


def _read_manifest(out: Path) -> dict:
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def write_thread_files(
    out: Path,
    filename: str,
    stamp: str,
    threads: ThreadService,
    render: Render,
) -> ThreadFiles:
    """Bring ``out`` up to date: ``<folder_of(uri)>/<filename>`` for every thread."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        return _update(out, filename, stamp, threads, render)
    except OSError as exc:
        raise CommentdError(f"cannot write to {out}: {exc.strerror or exc}.") from exc


def _update(
    out: Path, filename: str, stamp: str, threads: ThreadService, render: Render
) -> ThreadFiles:
    before = _read_manifest(out)
    kept = before.get("threads", {}) if before.get("stamp") == stamp else {}
    summary = ThreadFiles()
    now: dict[str, dict] = {}
    taken: dict[str, str] = {}  # file -> the uri written there
    limit = threads.config.comments.max_page_size
    for row in Thread.select(Thread.uri).order_by(Thread.id).iterator():
        uri = row.uri
        relative = str(folder_of(uri) / filename)
        if relative in taken:
            summary.skipped.append(uri)
            continue
        taken[relative] = uri
        state = threads.version_of(uri)
        entry = {"file": relative, "version": state.version, "closed": state.closed}
        now[uri] = entry
        if kept.get(uri) == entry and (out / relative).is_file():
            summary.unchanged += 1
            continue
        _write(out / relative, render(threads.read(PageQuery(uri, "oldest", limit, None))))
        summary.written += 1
    for uri, entry in (before.get("threads") or {}).items():
        old = entry.get("file") if isinstance(entry, dict) else None
        if uri not in now and isinstance(old, str) and old not in taken:
            target = (out / old).resolve()
            if target.is_relative_to(out.resolve()) and target.is_file():
                target.unlink()
                summary.removed += 1
    manifest = json.dumps({"stamp": stamp, "threads": now}, ensure_ascii=False, indent=0)
    _write(out / MANIFEST, manifest.encode())
    return summary
