"""Streaming, hostile-input-safe XML reading for the importers.

Exports can be a gigabyte, so they are read in chunks and handed out one record (a direct
child of the root element) at a time; memory stays bounded by the largest record. Any DTD
entity declaration is refused, which stops both external entities (XXE) and entity
expansion bombs ("billion laughs"); external entity references are never resolved.

Two paths give the same elements. Entities can only be declared in a document type
declaration, which can only come before the root element; a file whose first chunk holds the
root's start and no ``<!DOCTYPE`` (every Disqus and WordPress export) is read by
ElementTree's C parser, several times faster. Any other file goes through expat with Python
handlers that refuse every entity declaration.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLPullParser
from xml.parsers import expat

from commentd.errors import ValidationError

CHUNK = 64 * 1024


def _refuse_entities(*_: object) -> None:
    """Any entity declaration: refused, whatever it would expand to."""
    raise ValidationError(
        "The file declares XML entities; refusing it (possible XXE or entity bomb).",
        code="unsafe_xml",
    )


def _refuse_external(*_: object) -> int:
    _refuse_entities()
    return 0  # pragma: no cover - never reached


def _qualified(name: str) -> str:
    """expat's ``"uri local"`` to ElementTree's ``"{uri}local"``."""
    uri, sep, local = name.rpartition(" ")
    return f"{{{uri}}}{local}" if sep else name


_ASCII_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<")


def _malformed(code: int, line: int, column: int) -> ValidationError:
    return ValidationError(
        f"The file is not well-formed XML: {expat.ErrorString(code)} "
        f"at line {line}, column {column}.",
        code="invalid_xml",
    )


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def records(stream: BinaryIO, level: int = 2) -> Iterator[Element]:
    """Each element at nesting ``level`` of ``stream`` (2: the root's children), complete,
    then forgotten; elements above that level keep no children.

    Raises ``ValidationError``: code ``invalid_xml`` for malformed XML, ``unsafe_xml`` for
    entity declarations.
    """
    first = stream.read(CHUNK)
    chunks = itertools.chain([first], _chunks(stream))
    if b"<!DOCTYPE" in first or not _ASCII_START.match(first):
        return _safe_records(chunks, level)
    parser = XMLPullParser(events=("start", "end"))
    try:
        parser.feed(first)
        started = any(event == "start" for event, _ in parser.read_events())
    except ParseError as exc:
        raise _malformed(exc.code, *exc.position) from None
    if not started:  # a long prolog: the safe path decides about what follows
        return _safe_records(chunks, level)
    parser = XMLPullParser(events=("start", "end"))
    return _fast_records(parser, chunks, level)


def _fast_records(parser: XMLPullParser, chunks: Iterable[bytes], level: int) -> Iterator[Element]:
    stack: list[Element] = []
    for chunk in itertools.chain(chunks, [b""]):
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for event, element in parser.read_events():
                if event == "start":
                    stack.append(element)
                    continue
                stack.pop()
                if len(stack) == level - 1:
                    yield element
                    if stack:
                        stack[-1].remove(element)
        except ParseError as exc:
            raise _malformed(exc.code, *exc.position) from None


def _safe_records(chunks: Iterable[bytes], level: int) -> Iterator[Element]:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse_entities
    parser.UnparsedEntityDeclHandler = _refuse_entities
    parser.ExternalEntityRefHandler = _refuse_external
    parser.buffer_text = True
    parser.ordered_attributes = False

    done: list[Element] = []
    depth = 0
    builder: TreeBuilder | None = None

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, builder
        depth += 1
        if depth == level:
            builder = TreeBuilder()
        if builder is not None:
            builder.start(_qualified(name), {_qualified(k): v for k, v in attributes.items()})

    def end(name: str) -> None:
        nonlocal depth, builder
        if builder is not None:
            element = builder.end(_qualified(name))
            if depth == level:
                done.append(element)
                builder = None
        depth -= 1

    def text(data: str) -> None:
        if builder is not None:
            builder.data(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text

    def feed(data: bytes, final: bool) -> None:
        try:
            parser.Parse(data, final)
        except expat.ExpatError as exc:
            raise _malformed(exc.code, exc.lineno, exc.offset) from None

    for chunk in itertools.chain(chunks, [b""]):
        feed(chunk, final=not chunk)
        yield from done
        done.clear()


def child_text(element: Element, tag: str, default: str = "") -> str:
    """The text of ``element``'s first child ``tag`` (a ``{uri}local`` name), stripped."""
    child = element.find(tag)
    if child is None or child.text is None:
        return default
    return child.text.strip()
