"""The streaming JSON reader: items of one array, in small chunks, with clear errors."""

from __future__ import annotations

import io
import json

import pytest

from commentd.errors import ValidationError
from commentd.services.importers import jsonstream

DOCUMENT = {
    "version": 1,
    "data": {
        "Users": [{"id": 1, "nick": "Ann"}],
        "Comment": [
            {"id": 12345, "comment": 'héllo "quoted" \\ 日本語 \u2028'},
            {"id": -1.5e3, "nested": {"deep": [[1, 2], {"a": None}]}},
            [1, 2],
            None,
            True,
            987654321,
        ],
    },
    "trailer": 123456,
}


@pytest.fixture(params=[1, 2, 7, 64 * 1024], ids=lambda size: f"chunk{size}")
def chunk(request, monkeypatch):
    """Every test runs with chunks that cut strings, numbers and UTF-8 sequences apart."""
    monkeypatch.setattr(jsonstream, "CHUNK", request.param)
    return request.param


def stream(value: object, prefix: bytes = b"") -> io.BytesIO:
    return io.BytesIO(prefix + json.dumps(value, ensure_ascii=False, indent=1).encode())


def test_items_of_a_nested_array_come_out_whole_and_in_order(chunk):
    found = list(jsonstream.items(stream(DOCUMENT), "data", "Comment"))
    assert found == DOCUMENT["data"]["Comment"]


def test_an_array_after_the_one_skipped_is_found(chunk):
    assert list(jsonstream.items(stream(DOCUMENT), "data", "Users")) == [{"id": 1, "nick": "Ann"}]


def test_a_top_level_array_with_a_byte_order_mark(chunk):
    found = list(jsonstream.items(stream([{"a": 1}, 22, "x"], prefix=b"\xef\xbb\xbf")))
    assert found == [{"a": 1}, 22, "x"]


def test_a_missing_path_or_a_value_that_is_not_an_array_gives_nothing(chunk):
    assert list(jsonstream.items(stream(DOCUMENT), "data", "Nothing")) == []
    assert list(jsonstream.items(stream(DOCUMENT), "version")) == []
    assert list(jsonstream.items(stream([]))) == []


def test_top_level_reads_the_scalars_past_the_arrays(chunk):
    assert jsonstream.top_level(stream(DOCUMENT)) == {"version": 1, "trailer": 123456}


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": [1, 2',
        b'{"a": [1 2]}',
        b'{"a" 1}',
        b"[1, 2] extra",
        b'[{"a": "unterminated]',
        b"\xff[1]",
    ],
    ids=["truncated", "no-comma", "no-colon", "trailing", "open-string", "not-utf8"],
)
def test_broken_documents_are_refused_with_a_stable_code(chunk, text):
    with pytest.raises(ValidationError) as caught:
        list(
            jsonstream.items(io.BytesIO(text), "a")
            if text.startswith(b"{")
            else jsonstream.items(io.BytesIO(text))
        )
    assert caught.value.code == "invalid_json"
    assert caught.value.message.startswith("The file is not valid JSON")


def window_sizes(monkeypatch) -> list[int]:
    """The reader's window size after each chunk read, as reading goes on."""
    sizes: list[int] = []
    original = jsonstream._Cursor.more

    def more(self):
        result = original(self)
        sizes.append(len(self.text))
        return result

    monkeypatch.setattr(jsonstream._Cursor, "more", more)
    return sizes


def test_memory_holds_one_item_not_the_file(monkeypatch):
    """The window never grows past a chunk plus the item being read."""
    monkeypatch.setattr(jsonstream, "CHUNK", 1024)
    body = "x" * 500
    text = b"[" + b",".join(json.dumps({"n": i, "t": body}).encode() for i in range(5000)) + b"]"
    cursor_sizes = window_sizes(monkeypatch)
    assert sum(1 for _ in jsonstream.items(io.BytesIO(text))) == 5000
    assert len(text) > 2_000_000
    assert max(cursor_sizes) < 3 * 1024


def test_memory_holds_one_item_of_the_arrays_walked_past(monkeypatch):
    """The arrays before the wanted one are read item by item too."""
    monkeypatch.setattr(jsonstream, "CHUNK", 1024)
    body = "x" * 500
    skipped = b",".join(json.dumps({"n": i, "t": [body]}).encode() for i in range(5000))
    text = b'{"comments": [' + skipped + b'], "commenters": [{"id": 1}]}'
    cursor_sizes = window_sizes(monkeypatch)
    assert list(jsonstream.items(io.BytesIO(text), "commenters")) == [{"id": 1}]
    assert len(text) > 2_000_000
    assert max(cursor_sizes) < 3 * 1024
