"""The formats ``commentd import`` reads: one registry, each with its sniffer and reader.

A format is a module with ``read(source, options)`` yielding records (``records.py``) and a
``sniff(head)`` that says, from the file's first bytes, whether the file is one of its own.
Adding a format is one module and one line in ``FORMATS``.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from commentd.errors import ValidationError
from commentd.services.importers import (
    artalk,
    commento,
    csvfile,
    disqus,
    isso,
    jsonl,
    remark42,
    waline,
    wordpress,
)
from commentd.services.importers.records import Record

SNIFF = 4096
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Options:
    """What the admin chose for this import."""

    keep_pings: bool = False  # WordPress pingbacks and trackbacks become comments


class CountingReader:
    """A binary file that counts the bytes read from it (for a progress bar)."""

    def __init__(self, handle: BinaryIO, progress: Callable[[int], None] | None):
        self.handle = handle
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if self.progress is not None and data:
            self.progress(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self.handle.readline(size)
        if self.progress is not None and data:
            self.progress(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class Source:
    """The file being imported. A reader may open it more than once (a first pass for the
    commenters, say); only the pass opened with ``counted=True`` moves the progress bar.
    A gzip-compressed file (Remark42's backups, Commento's and Comentario's exports) is read
    decompressed, streamed; the progress bar counts the compressed bytes."""

    def __init__(self, path: Path, progress: Callable[[int], None] | None = None):
        self.path = path
        self.progress = progress

    @contextlib.contextmanager
    def open(self, counted: bool = True) -> Iterator[BinaryIO]:
        with open(self.path, "rb") as handle:
            compressed = handle.read(2) == GZIP_MAGIC
            handle.seek(0)
            reader = CountingReader(handle, self.progress if counted else None)
            if not compressed:
                yield reader  # type: ignore[misc]
                return
            try:
                yield gzip.GzipFile(fileobj=reader, mode="rb")  # type: ignore[arg-type]
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise ValidationError(
                    f"The file is not valid gzip: {exc}.", code="invalid_file"
                ) from None


@dataclass(frozen=True)
class Format:
    """One importable format."""

    name: str
    read: Callable[[Source, Options], Iterator[Record]]
    sniff: Callable[[bytes], bool]


def _isso(source: Source, options: Options) -> Iterator[Record]:
    yield from isso.read(source.path)
    if source.progress is not None:
        source.progress(source.path.stat().st_size)


def _streamed(read: Callable[..., Iterator[Record]]) -> Callable[[Source, Options], Iterator]:
    def reader(source: Source, options: Options) -> Iterator[Record]:
        with source.open() as stream:
            yield from read(stream)

    return reader


def _wordpress(source: Source, options: Options) -> Iterator[Record]:
    with source.open() as stream:
        yield from wordpress.read(stream, keep_pings=options.keep_pings)


def _commento(version: int) -> Format:
    return Format(
        commento.NAMES[version],
        lambda source, options: commento.read(source, version),
        lambda head: commento.sniff(text_head(head), version),
    )


def _refusing(
    read: Callable[[Source, Options], Iterator[Record]], check: Callable[[str], bool], what: str
) -> Callable[[Source, Options], Iterator[Record]]:
    """``read``, refusing as "Not {what}." a file whose head (as text) fails ``check``: one
    given with the wrong ``--format``."""

    def reader(source: Source, options: Options) -> Iterator[Record]:
        with source.open(counted=False) as stream:
            head = stream.read(SNIFF)
        if not check(text_head(head)):
            raise ValidationError(f"Not {what}.", code="invalid_file")
        yield from read(source, options)

    return reader


def text_head(head: bytes) -> str:
    """The first bytes as text, without a byte order mark or leading whitespace."""
    return head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")


def _xml_root(root: str) -> Callable[[bytes], bool]:
    def sniff(head: bytes) -> bool:
        text = text_head(head)
        return text.startswith("<") and f"<{root}" in text

    return sniff


FORMATS: dict[str, Format] = {
    format.name: format
    for format in (
        Format("disqus", _streamed(disqus.read), _xml_root("disqus")),
        Format(
            "wordpress",
            _wordpress,
            lambda head: _xml_root("rss")(head) and b"wordpress.org/export" in head,
        ),
        Format("isso", _isso, lambda head: head.startswith(isso.SQLITE_MAGIC)),
        Format("json", _streamed(jsonl.read), lambda head: text_head(head).startswith("{")),
        Format("remark42", _streamed(remark42.read), lambda head: remark42.sniff(text_head(head))),
        _commento(1),
        _commento(3),
        Format(
            "waline",
            _refusing(
                lambda source, options: waline.read(source),
                waline.sniff,
                'a Waline export: it does not begin with {..."type": "waline"...}',
            ),
            lambda head: waline.sniff(text_head(head)),
        ),
        Format(
            "artalk",
            _refusing(
                _streamed(artalk.read),
                lambda text: text.startswith("["),
                "an Artalk Artrans file: it is not a JSON array",
            ),
            lambda head: artalk.sniff(text_head(head)),
        ),
        Format("csv", _streamed(csvfile.read), lambda head: csvfile.sniff(text_head(head))),
    )
}
# Sniffed in this order: the most specific first (commentd's own JSON claims any object).
SNIFF_ORDER = (
    "isso",
    "disqus",
    "wordpress",
    "remark42",
    "commento",
    "comentario",
    "waline",
    "artalk",
    "csv",
    "json",
)


def detect(path: Path) -> str:
    """The format of the file at ``path``, from its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF)
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, SNIFF)
        except zlib.error:
            head = b""
    for name in SNIFF_ORDER:
        if FORMATS[name].sniff(head):
            return name
    raise ValidationError(
        f"Cannot tell the file's format; give it with --format ({', '.join(FORMATS)}).",
        code="unknown_format",
    )
