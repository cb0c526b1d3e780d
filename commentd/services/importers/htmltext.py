"""Imported HTML bodies to Markdown-ish source, so a moderator can later edit the text.

Only the structure a comment has is kept: paragraphs, line breaks, links, emphasis, code and
quotes. Everything else becomes its text. The stored HTML comes from the sanitizer, not from
this text, so what readers see is the original formatting.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_INLINE = {"b": "**", "strong": "**", "i": "*", "em": "*", "code": "`", "del": "~~", "s": "~~"}
_BLOCKS = {"p", "div", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str | None] = []
        self.quote = 0
        self.pre = 0

    def _newline(self, count: int = 1) -> None:
        self.out.append("\n" * count + "> " * self.quote)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INLINE and not self.pre:
            self.out.append(_INLINE[tag])
        elif tag == "a":
            href = dict(attrs).get("href")
            self.links.append(href if href and href.startswith(("http://", "https://")) else None)
            if self.links[-1]:
                self.out.append("[")
        elif tag == "br":
            self._newline()
        elif tag == "li":
            self._newline()
            self.out.append("- ")
        elif tag == "blockquote":
            self.quote += 1
            self._newline(2)
        elif tag == "pre":
            self.pre += 1
            self._newline(2)
            self.out.append("```")
            self._newline()
        elif tag in _BLOCKS:
            self._newline(2)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INLINE and not self.pre:
            self.out.append(_INLINE[tag])
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.out.append(f"]({href})")
        elif tag == "blockquote" and self.quote:
            self.quote -= 1
            self._newline(2)
        elif tag == "pre" and self.pre:
            self.pre -= 1
            self._newline()
            self.out.append("```")
            self._newline(2)
        elif tag in _BLOCKS:
            self._newline(2)

    def handle_data(self, data: str) -> None:
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.out.append(data)


def html_to_text(html: str) -> str:
    """Markdown-ish text for ``html``; blank lines between blocks, no trailing space."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    text = "".join(converter.out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


_BLOCK = re.compile(r"</?(ul|ol|li|blockquote|hr|h[1-6]|table)\b", re.IGNORECASE)
# the tags a block starts or ends at, wherever they are in a line (list items stay together)
_BLOCK_TAG = re.compile(r"\s*(</?(?:ul|ol|blockquote|hr|h[1-6]|table)\b[^>]*>)\s*", re.IGNORECASE)
_PRE = re.compile(r"<pre\b.*?</pre>", re.IGNORECASE | re.DOTALL)


def plain_to_html(text: str) -> str:
    """WordPress keeps comments as text with line breaks (it adds paragraphs on display):
    blank lines become paragraphs and single newlines ``<br>``, as WordPress shows them. As
    WordPress's ``wpautop`` does, block elements (lists, quotes, code) stand on their own, not
    inside a paragraph, and ``<pre>`` keeps its lines."""
    if re.search(r"</?(p|div|br)\b", text, re.IGNORECASE):
        return text
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match[0])
        return f"\n\n\x00{len(kept) - 1}\x00\n\n"  # XML cannot carry NUL: no comment has one

    text = _PRE.sub(keep, text.replace("\r\n", "\n"))
    text = _BLOCK_TAG.sub(r"\n\n\1\n\n", text)
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    html = "".join(
        b + "\n"
        if b.startswith("\x00") or _BLOCK.match(b)
        else "<p>" + b.replace("\n", "<br>\n") + "</p>\n"
        for b in blocks
    )
    return re.sub("\x00([0-9]+)\x00", lambda m: kept[int(m[1])], html)


_OLD_TAGS = re.compile(r"<(/?)(b|i)(?=[\s>/])", re.IGNORECASE)


def modern_tags(html: str) -> str:
    """``<b>`` and ``<i>`` (which Disqus writes) as the ``<strong>`` and ``<em>`` the
    sanitizer keeps."""
    return _OLD_TAGS.sub(lambda m: f"<{m[1]}{'strong' if m[2].lower() == 'b' else 'em'}", html)
