"""Streaming, hostile-input-safe XML reading for the importers.

Exports can be a gigabyte, so they are read in chunks and handed out one record (a direct
child of the root element) at a time; memory stays bounded by the largest record. Any DTD
entity declaration is refused, which stops both external entities (XXE) and entity
expansion bombs ("billion laughs"); external entity references are never resolved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, TreeBuilder
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


def records(stream: BinaryIO, level: int = 2) -> Iterator[Element]:
    """Each element at nesting ``level`` of ``stream`` (2: the root's children), complete,
    then forgotten; elements above that level are never kept.

    Raises ``ValidationError``: code ``invalid_xml`` for malformed XML, ``unsafe_xml`` for
    entity declarations.
    """
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
            raise ValidationError(
                f"The file is not well-formed XML: {expat.ErrorString(exc.code)} "
                f"at line {exc.lineno}, column {exc.offset}.",
                code="invalid_xml",
            ) from None

    while True:
        chunk = stream.read(CHUNK)
        feed(chunk, final=not chunk)
        yield from done
        done.clear()
        if not chunk:
            return


def child_text(element: Element, tag: str, default: str = "") -> str:
    """The text of ``element``'s first child ``tag`` (a ``{uri}local`` name), stripped."""
    child = element.find(tag)
    if child is None or child.text is None:
        return default
    return child.text.strip()
