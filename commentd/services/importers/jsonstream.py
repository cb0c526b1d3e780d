"""Streaming reading of one large JSON document: the items of one array, one at a time.

Peers export a whole site as one JSON document (Commento, Waline, Artalk), which can be
hundreds of megabytes. ``items`` walks the document's structure itself and decodes only one
array item at a time with the standard library's C decoder, so memory stays bounded by the
largest item while reading runs at ``json.loads`` speed. Values it walks past (other keys,
other arrays) are skipped the same way, item by item.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import BinaryIO

from commentd.errors import ValidationError

CHUNK = 256 * 1024
_WHITESPACE = " \t\r\n"
_NEAR_END = 64  # a scalar this close to the end of the window is read again with more
_decoder = json.JSONDecoder()
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


class _Cursor:
    """A window onto the decoded text of ``stream``, refilled as it is used up."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.decode = codecs.getincrementaldecoder("utf-8-sig")("strict").decode
        self.text = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Read another chunk; False at the end of the file."""
        if self.eof:
            return False
        data = self.stream.read(CHUNK)
        try:
            text = self.decode(data, final=not data)
        except UnicodeDecodeError:
            raise _invalid("the file is not UTF-8") from None
        if not data:
            self.eof = True
        if not text:
            return bool(data)  # a chunk that ended inside a UTF-8 sequence: read on
        # Drop what was used, keep the rest.
        self.text = self.text[self.pos :] + text
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end of the file)."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self.more():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise _invalid(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self.pos += 1

    def string(self) -> str:
        """A JSON string at the cursor (an object's key)."""
        self.expect('"')
        while True:
            try:
                value, end = _scanstring(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue
                raise _invalid(exc.msg) from None
            self.pos = end
            return value

    def value(self) -> object:
        """One whole JSON value at the cursor."""
        self.peek()
        while True:
            try:
                value, end = _decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue
                raise _invalid(exc.msg) from None
            if (
                not self.eof
                and not isinstance(value, (str, list, dict))
                and len(self.text) - end < _NEAR_END
                and self.more()
            ):
                continue  # a number cut by the chunk's end ("-1." of "-1.5") reads whole
            self.pos = end
            return value


def _invalid(why: str) -> ValidationError:
    return ValidationError(f"The file is not valid JSON: {why}.", code="invalid_json")


def _more_follow(cursor: _Cursor, close: str, inside: str) -> bool:
    """After an item: True at a comma, False at the closing bracket."""
    after = cursor.peek()
    cursor.pos += 1
    if after == close:
        return False
    if after != ",":
        raise _invalid(f"expected ',' or {close!r} in {inside}, found {after or 'the end'!r}")
    return True


def _elements(cursor: _Cursor) -> Iterator[None]:
    """Steps over an array's items: yields with the cursor at each item."""
    cursor.expect("[")
    if cursor.peek() == "]":
        cursor.pos += 1
        return
    while True:
        yield
        if not _more_follow(cursor, "]", "an array"):
            return


def _members(cursor: _Cursor) -> Iterator[str]:
    """Steps over an object's members: yields each key with the cursor at its value."""
    cursor.expect("{")
    if cursor.peek() == "}":
        cursor.pos += 1
        return
    while True:
        key = cursor.string()
        cursor.expect(":")
        yield key
        if not _more_follow(cursor, "}", "an object"):
            return


def _skip(cursor: _Cursor) -> None:
    """Step over one value without holding more than one of its items. An array's items
    are decoded whole, as ``items`` hands them out: the C decoder is several times faster
    than walking each item's members here."""
    first = cursor.peek()
    if first == "[":
        for _ in _elements(cursor):
            cursor.value()
    elif first == "{":
        for _ in _members(cursor):
            _skip(cursor)
    else:
        cursor.value()


def _walk(cursor: _Cursor, path: tuple[str, ...]) -> Iterator[object]:
    if not path:
        if cursor.peek() != "[":
            _skip(cursor)  # not an array: nothing to hand out
            return
        for _ in _elements(cursor):
            yield cursor.value()
        return
    if cursor.peek() != "{":
        _skip(cursor)
        return
    for key in _members(cursor):
        if key == path[0]:
            yield from _walk(cursor, path[1:])
        else:
            _skip(cursor)


def items(stream: BinaryIO, *path: str) -> Iterator[object]:
    """Each item of the array found by following ``path``'s keys from the top-level object
    (no keys: the document is the array). Nothing when the path is absent or not an array.

    Raises ``ValidationError`` (code ``invalid_json``) for text that is not JSON.
    """
    cursor = _Cursor(stream)
    yield from _walk(cursor, path)
    if cursor.peek():
        raise _invalid("there is more after the document")


def top_level(stream: BinaryIO) -> dict[str, object]:
    """The top-level object's members that are not arrays or objects (a header's version and
    such), reading past the large ones item by item."""
    cursor = _Cursor(stream)
    found: dict[str, object] = {}
    if cursor.peek() != "{":
        return found
    for key in _members(cursor):
        if cursor.peek() in "[{":
            _skip(cursor)
        else:
            found[key] = cursor.value()
    return found
