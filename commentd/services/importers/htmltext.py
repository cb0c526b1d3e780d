"""Imported HTML bodies to Markdown-ish source, so a moderator can later edit the text.

Only the structure a comment has is kept: paragraphs, line breaks, links, emphasis, code and
quotes. Everything else becomes its text. The stored HTML comes from the sanitizer, not from
this text, so what readers see is the original formatting.
"""

from __future__ import annotations

import html
import re

_INLINE = {"b": "**", "strong": "**", "i": "*", "em": "*", "code": "`", "del": "~~", "s": "~~"}
_BLOCKS = {"p", "div", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
# The sanitizer's output is regular: lowercase tags, attributes in double quotes, text escaped.
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_TRAILING = re.compile(r"[ \t]+\n")
_BLANKS = re.compile(r"\n{3,}")


def _collapse(data: str) -> str:
    """Runs of whitespace as one space (``re.sub(r"\\s+", " ")``, several times faster)."""
    words = data.split()
    if not words:
        return " "
    return (
        (" " if data[0].isspace() else "") + " ".join(words) + (" " if data[-1].isspace() else "")
    )


def _href(attributes: str) -> str | None:
    """A link's target when it is a web address, else None (the link becomes its text)."""
    found = _HREF.search(attributes)
    if found is None:
        return None
    href = html.unescape(next(group for group in found.groups() if group is not None))
    return href if href.startswith(("http://", "https://")) else None


def html_to_text(source: str) -> str:
    """Markdown-ish text for sanitized HTML; blank lines between blocks, no trailing space."""
    out: list[str] = []
    links: list[str | None] = []
    quote = pre = 0
    position = 0

    def newline(count: int = 1) -> None:
        out.append("\n" * count + "> " * quote)

    def text(data: str) -> None:
        if data:
            if "&" in data:
                data = html.unescape(data)
            out.append(data if pre else _collapse(data))

    for tag in _TAG.finditer(source):
        text(source[position : tag.start()])
        position = tag.end()
        closing, name = tag[1] == "/", tag[2].lower()
        if name in _INLINE and not pre:
            out.append(_INLINE[name])
        elif name == "a":
            if not closing:
                links.append(_href(tag[3]))
                if links[-1]:
                    out.append("[")
            elif links and (href := links.pop()):
                out.append(f"]({href})")
        elif closing:
            if name == "blockquote" and quote:
                quote -= 1
                newline(2)
            elif name == "pre" and pre:
                pre -= 1
                newline()
                out.append("```")
                newline(2)
            elif name in _BLOCKS:
                newline(2)
        elif name == "br":
            newline()
        elif name == "li":
            newline()
            out.append("- ")
        elif name == "blockquote":
            quote += 1
            newline(2)
        elif name == "pre":
            pre += 1
            newline(2)
            out.append("```")
            newline()
        elif name in _BLOCKS:
            newline(2)
    text(source[position:])
    joined = "".join(out)
    if " \n" in joined or "\t\n" in joined:
        joined = _TRAILING.sub("\n", joined)
    if "\n\n\n" in joined:
        joined = _BLANKS.sub("\n\n", joined)
    return joined.strip()


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
