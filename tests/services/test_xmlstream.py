"""The streaming XML reader: its fast path (ElementTree's C parser) and its safe path (expat
refusing entity declarations) hand out the same records."""

from __future__ import annotations

import io
from xml.etree.ElementTree import tostring

import pytest

from commentd.errors import ValidationError
from commentd.services.importers import xmlstream

BODY = (
    '<root xmlns="http://example.com/a" xmlns:b="http://example.com/b">'
    '<item b:id="1"><title>Caf\u00e9 &amp; t\u00e9</title><b:x><![CDATA[<p>hi]]></b:x></item>'
    '<item b:id="2"><title>Second</title><nested><deep>text</deep></nested></item>'
    "</root>"
)


def _records(data: bytes, level: int = 2) -> list[bytes]:
    return [tostring(element) for element in xmlstream.records(io.BytesIO(data), level)]


@pytest.fixture(params=[7, 64 * 1024], ids=["small-chunks", "one-chunk"])
def chunk(request, monkeypatch):
    monkeypatch.setattr(xmlstream, "CHUNK", request.param)


def test_both_paths_give_the_same_records(chunk):
    fast = _records(f'<?xml version="1.0"?>\n{BODY}'.encode())
    safe = _records(f'<?xml version="1.0"?>\n<!DOCTYPE root>\n{BODY}'.encode())
    assert fast == safe
    assert len(fast) == 2
    assert b"Caf&#233; &amp; t&#233;</ns0:title>" in fast[0]
    assert b'ns1:id="1"' in fast[0]
    assert b"&lt;p&gt;hi" in fast[0]


def test_records_one_level_deeper(chunk):
    items = BODY[BODY.index("<item") : -len("</root>")]
    wrapped = (
        f'<rss xmlns:b="http://example.com/b"><channel><title>Blog</title>{items}</channel></rss>'
    )
    found = list(xmlstream.records(io.BytesIO(wrapped.encode()), 3))
    assert [e.tag for e in found] == ["title", "item", "item"]
    assert found[2].find("nested/deep").text == "text"


def test_many_records_come_out_whole_and_in_order():
    data = "<root>" + "".join(f"<item>{n}</item>" for n in range(2000)) + "</root>"
    texts = []
    for element in xmlstream.records(io.BytesIO(data.encode())):
        texts.append(element.text)
    assert texts == [str(n) for n in range(2000)]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'<?xml version="1.0"?><root><item></root>', "line 1"),
        (b"<root><item>&undefined;</item></root>", "line 1"),
        (b"<root>\n<item></item>\n</item>", "line 3"),
    ],
    ids=["mismatched", "undefined-entity", "stray-end"],
)
def test_malformed_files_name_the_place(chunk, data, where):
    with pytest.raises(ValidationError) as caught:
        _records(data)
    assert caught.value.code == "invalid_xml"
    assert where in caught.value.message


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE root [<!ENTITY x "boom">]>',
        '<!DOCTYPE root SYSTEM "file:///etc/passwd" [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        "<!--" + " " * 70_000 + '--><!DOCTYPE root [<!ENTITY x "late">]>',
    ],
    ids=["internal", "external", "after-a-long-prolog"],
)
def test_entity_declarations_are_refused_on_either_path(prolog):
    data = f'<?xml version="1.0"?>{prolog}<root><item>&x;</item></root>'.encode()
    with pytest.raises(ValidationError) as caught:
        _records(data)
    assert caught.value.code == "unsafe_xml"


def test_utf16_files_take_the_safe_path():
    data = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY x "y">]><r><i>&x;</i></r>'
    with pytest.raises(ValidationError) as caught:
        _records(data.encode("utf-16"))
    assert caught.value.code == "unsafe_xml"
