"""XSS test helpers: the shared vector corpus and a checker for rendered comment HTML.

The corpus is in ``tests/fixtures/xss/`` (its origin in SOURCES.md, its license in LICENSE),
inside the repository: a lone clone runs every test. The allow-list below is written out again
on purpose instead of imported from ``commentd.services.render``: the checker must not trust
the code it checks.
"""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["XSS_DIR", "assert_safe_html", "load_vectors"]

XSS_DIR = Path(__file__).resolve().parent / "fixtures" / "xss"

ALLOWED_TAGS = frozenset(
    {"p", "br", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "del", "hr"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "rel"}, "code": {"class"}, "ol": {"start"}}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
ALLOWED_REL = frozenset({"nofollow", "ugc", "noopener", "noreferrer"})
# Named in failure messages: the tags that run code or load content.
DANGEROUS_TAGS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "img",
        "svg", "math", "link", "meta", "base", "form", "input", "button", "textarea", "video",
        "audio", "source", "template", "xml", "xss", "body", "html", "marquee", "isindex",
    }
)  # fmt: skip
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
CODE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
SCHEME_RE = re.compile(r"([a-z][a-z0-9+.-]*):")
# What a browser ignores inside a URL or before its scheme: C0 controls, space, DEL, C1.
IGNORED_IN_URL_RE = re.compile(r"[\x00-\x20\x7f-\x9f]+")


def load_vectors() -> list[tuple[str, str]]:
    """(id, payload) for every vector of ``XSS_DIR / "payloads.json"``.

    A missing or malformed corpus is an error, never a skip: a security test that silently
    runs nothing would pass forever.
    """
    path = XSS_DIR / "payloads.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"XSS corpus not found at {path}. It belongs in the repository, in "
            "tests/fixtures/xss/payloads.json."
        )
    entries = json.loads(path.read_text(encoding="utf-8"))
    vectors: list[tuple[str, str]] = []
    for number, entry in enumerate(entries):
        if not (isinstance(entry, dict) and {"id", "payload"} <= entry.keys()):
            raise ValueError(f"{path}: entry {number} lacks an id or a payload: {entry!r}")
        vectors.append((str(entry["id"]), str(entry["payload"])))
    ids = [vector_id for vector_id, _ in vectors]
    if not vectors or len(set(ids)) != len(ids):
        raise ValueError(f"{path}: the corpus is empty or has duplicate ids")
    return vectors


def _normalize(value: str) -> str:
    """An attribute value as a browser reads it as a URL: unescaped, no controls, lower case.

    ``HTMLParser`` has already decoded character references once; decoding again also catches
    double-encoded values (harmless, and stricter)."""
    return IGNORED_IN_URL_RE.sub("", unescape(value)).lower()


class _SafetyChecker(HTMLParser):
    """Collects every reason the HTML is unsafe; ``convert_charrefs=False`` keeps text raw, so
    an unescaped ``<`` in text is visible (``&lt;`` arrives as a separate entity reference)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []

    def _check_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"dangerous tag <{tag}>")
        elif tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not in the allow-list")
        for name, raw_value in attrs:
            value = raw_value or ""
            normalized = _normalize(value)
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            elif name == "style":
                self.problems.append(f"style={value!r} on <{tag}>")
            elif name not in ALLOWED_ATTRIBUTES.get(tag, ()):
                self.problems.append(f"attribute {name}={value!r} not allowed on <{tag}>")
            for scheme in DANGEROUS_SCHEMES:
                if scheme in normalized:
                    self.problems.append(f"{scheme} in <{tag} {name}={value!r}>")
            if tag == "a" and name == "href":
                match = SCHEME_RE.match(normalized)
                if match is None or match.group(1) not in ALLOWED_SCHEMES:
                    self.problems.append(f"href {value!r}: scheme not http, https or mailto")
            elif tag == "a" and name == "rel":
                if not set(value.split()) <= ALLOWED_REL:
                    self.problems.append(f"rel={value!r}")
            elif tag == "code" and name == "class":
                if not all(CODE_CLASS_RE.fullmatch(c) for c in value.split()):
                    self.problems.append(f"class={value!r} on <code>")
            elif tag == "ol" and name == "start" and not value.isdigit():
                self.problems.append(f"start={value!r} on <ol>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_tag(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_tag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"end tag </{tag}> is not in the allow-list")

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.problems.append(f"unescaped '<' in text: {data[:80]!r}")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"HTML comment <!--{data[:80]}-->")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration <!{decl[:80]}>")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration <![{data[:80]}]>")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction <?{data[:80]}>")


def assert_safe_html(html: str) -> None:
    """Fail unless ``html`` only uses the comment allow-list.

    Allowed: tags p, br, a, em, strong, code, pre, blockquote, ul, ol, li, del, hr; attributes
    a[href] (http, https or mailto), a[rel], code[class] (``language-*``), ol[start] (digits).
    Anything else fails, in particular event handlers, ``style``, ``javascript:`` /
    ``vbscript:`` / ``data:`` in any attribute value, comments, and raw ``<`` in text (markup
    in text must arrive escaped, as ``&lt;``).
    """
    checker = _SafetyChecker()
    checker.feed(html)
    checker.close()
    assert not checker.problems, (
        "unsafe HTML:\n  " + "\n  ".join(checker.problems) + (f"\nin: {html[:500]!r}")
    )
