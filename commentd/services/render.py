"""Comment rendering: Markdown source -> safe HTML.

This is the only module that imports markdown-it-py and nh3. Why these two and not the
Python-Markdown + bleach pair:

* bleach announced on 2026-06-05 that it gets no more releases, security fixes included; a
  sanitizer without security fixes cannot stand between readers and untrusted input. nh3 binds
  Rust's ammonia, which parses with a real HTML5 parser (html5ever) and is maintained.
* Python-Markdown is quadratic on inputs such as ``"[" * 10000`` (about 9 s for one comment), so
  a single request is a denial of service. markdown-it-py implements CommonMark with bounded
  nesting and stays linear; the few paths that were still too slow in pure Python on a
  10,000-character comment are bounded below (every such input renders in well under 250 ms).

Pipeline: markdown-it-py ("commonmark" preset, raw HTML escaped, linkify and strikethrough on)
renders HTML; a token pass maps its output onto the allow-list (images become links, headings
become paragraphs, ``<s>`` becomes ``<del>``); nh3 then sanitizes the result against an explicit
allow-list, an independent second line of defence.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from contextvars import ContextVar
from types import SimpleNamespace

import nh3
from linkify_it import LinkifyIt, ucre
from linkify_it.main import Match
from markdown_it import MarkdownIt, helpers
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline, linkify
from markdown_it.token import Token

__all__ = ["render"]

# --- Sanitizer (nh3) configuration, built once -----------------------------------------------

# Tags that survive; any other tag is removed and its text kept.
_ALLOWED_TAGS = frozenset(
    {"p", "br", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "del", "hr"}
)
# Attributes per tag. ``"*": set()`` replaces ammonia's default generic attributes (lang,
# title). ``a[rel]`` is not listed: nh3 drops any input ``rel`` and sets ``_LINK_REL``.
# ``code[class]`` and ``ol[start]`` are checked by value in ``_attribute_filter``.
_ALLOWED_ATTRIBUTES = {
    "*": frozenset(),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "ol": frozenset({"start"}),
}
# Schemes kept in ``a[href]``; relative URLs are removed too (``url_relative="deny"``).
_ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# On every link: not endorsed, user generated, no ``window.opener``.
_LINK_REL = "nofollow ugc noopener"

# markdown-it puts ``class="language-<first word of the fence info>"`` on fenced code.
_CODE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
# markdown-it caps ordered list starts at nine digits.
_OL_START_RE = re.compile(r"[0-9]{1,9}")


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Value checks sets cannot express. Must not raise (nh3 would drop the attribute)."""
    if tag == "code" and attr == "class":
        kept = [name for name in value.split() if _CODE_CLASS_RE.fullmatch(name)]
        return " ".join(kept) if kept else None
    if tag == "ol" and attr == "start":
        return value if _OL_START_RE.fullmatch(value) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in _ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel=_LINK_REL,
    url_schemes=set(_ALLOWED_URL_SCHEMES),
    url_relative="deny",
)

# Raw HTML in a peer's Markdown (``render(raw_html=True)``): a first pass keeps what can be
# mapped onto the allow-list, ``b``/``i`` and ``img``; they become ``strong``/``em`` and a
# link to the image (``_RAW_IMG``), and the result goes through ``_CLEANER`` like all else.
_RAW_CLEANER = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS) | {"b", "i", "img"},
    clean_content_tags={"script", "style"},
    attributes={
        **{tag: set(names) for tag, names in _ALLOWED_ATTRIBUTES.items()},
        "img": {"src", "alt"},
    },
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel=None,
    url_schemes=set(_ALLOWED_URL_SCHEMES),
    url_relative="deny",
)
# nh3's output is regular: lowercase tags, attribute values in double quotes with ``"`` and
# ``&`` escaped (but not ``<`` and ``>``).
_RAW_OLD_TAG = re.compile(r"<(/?)(b|i)>")
_RAW_IMG = re.compile(r'<img((?: [a-z]+="[^"]*")*) ?/?>')
_RAW_ATTRIBUTE = re.compile(r'([a-z]+)="([^"]*)"')


def _raw_img(match: re.Match) -> str:
    attributes = dict(_RAW_ATTRIBUTE.findall(match[1]))
    src = attributes.get("src", "").replace("<", "%3C").replace(">", "%3E")
    alt = attributes.get("alt", "").replace("<", "&lt;").replace(">", "&gt;")
    if not src:
        return alt
    return f'<a href="{src}">{alt or src}</a>'


def _clean_raw(html: str) -> str:
    """Sanitized HTML of Markdown rendered with raw HTML on (see ``_RAW_CLEANER``)."""
    html = _RAW_CLEANER.clean(html)
    html = _RAW_OLD_TAG.sub(lambda m: f"<{m[1]}{'strong' if m[2] == 'b' else 'em'}>", html)
    return _CLEANER.clean(_RAW_IMG.sub(_raw_img, html))


# --- Token pass: fit markdown-it's output to the allow-list -------------------------------------


def _plain_text(tokens: Sequence[Token] | None) -> str:
    """An image description with its markup stripped, as CommonMark does for ``alt``."""
    parts: list[str] = []
    for token in tokens or ():
        if token.type in ("text", "text_special", "code_inline"):
            parts.append(token.content)
        elif token.type == "image":
            parts.append(_plain_text(token.children))
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def _rewrite_inline(children: list[Token]) -> list[Token]:
    """Images -> links (only their text inside another link); ``s`` -> ``del``."""
    out: list[Token] = []
    link_depth = 0
    for token in children:
        if token.type == "link_open":
            link_depth += 1
        elif token.type == "link_close":
            link_depth -= 1
        elif token.type in ("s_open", "s_close"):
            token.tag = "del"
        elif token.type == "image":
            src = str(token.attrs.get("src", ""))
            alt = _plain_text(token.children)
            if link_depth > 0 or not src:
                out.append(Token("text", "", 0, content=alt))
            else:
                out.append(Token("link_open", "a", 1, attrs={"href": src}, markup="image"))
                out.append(Token("text", "", 0, content=alt or src))
                out.append(Token("link_close", "a", -1, markup="image"))
            continue
        out.append(token)
    return out


def _adapt_tokens(state: StateCore) -> None:
    """Core rule, runs last."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = "p"
        elif token.meta is _FLATTENED:
            token.hidden = False  # a tight list hides its paragraphs: these must stay apart
        elif token.type == "inline" and token.children:
            token.children = _rewrite_inline(token.children)


# --- Denial-of-service guards -----------------------------------------------------------------

# A ``[`` that is not closed makes markdown-it scan the rest of the paragraph for its ``]``, and
# each bracket met on the way is scanned too, one level deeper (up to ``maxNesting``, 20). In
# pure Python ``"[" * 10000`` took ~0.3 s and ``"![" * 20 + "_a" * 4980`` ~0.45 s. Our own label
# scan (markdown-it's algorithm) adds two limits that real comments never reach:
# - link text ends within 1000 characters, as CommonMark already requires of reference labels;
# - the scans of one comment take at most 20,000 steps in all; once spent, no further "[" opens a
#   link or an image (the brackets stay literal text; bare URLs are still linked).
_MAX_LABEL_CHARS = 1000
_LABEL_STEPS_PER_COMMENT = 20_000
_STEPS_ENV_KEY = "commentd_label_steps_left"


def _parse_link_label(state: StateInline, start: int, disable_nested: bool = False) -> int:
    """Position of the ``]`` closing the ``[`` at ``start``, or -1; see the limits above."""
    steps_left: list[int] = state.env.setdefault(_STEPS_ENV_KEY, [_LABEL_STEPS_PER_COMMENT])
    old_pos = state.pos
    limit = min(state.posMax, start + 2 + _MAX_LABEL_CHARS)  # "[", text, "]"
    skip_token = state.md.inline.skipToken
    label_end = -1
    level = 1
    state.pos = start + 1
    while state.pos < limit:
        steps_left[0] -= 1
        if steps_left[0] < 0:
            break
        marker = state.src[state.pos]
        if marker == "]":
            level -= 1
            if level == 0:
                label_end = state.pos
                break
        before = state.pos
        skip_token(state)  # cached per position in ``state``; may scan a nested label
        if marker == "[":
            if state.pos == before + 1:
                level += 1  # a literal "[", not the start of a nested link
            elif disable_nested:
                break
    state.pos = old_pos
    return label_end


# Bare URLs and e-mail addresses (linkify) have three costs of their own:
# - the inline rule for ``scheme://`` finds the scheme with a ``$``-anchored regex over all
#   pending text: quadratic, ``"http:// " * 1250`` took ~0.5 s. Linkable schemes are short, so a
#   silent probe on the tail of the pending text gives the same answer (a longer run of scheme
#   characters fails either way); only a probe that finds a link runs the real rule, whose
#   search then ends in a flush of the pending text, so the total stays linear.
# - linkify-it's host pattern lets a label such as ``xn--a`` match two ways (punycode label or
#   ordinary hyphenated label), so a failing match backtracks exponentially: 150 characters of
#   ``"xn--a." * 25 + "x"`` took minutes. An ordinary label already covers every valid punycode
#   label (letters, digits, inner hyphens), so that alternative is dropped: only invalid labels
#   ending in "-" stop linking; ``xn--`` top-level domains still count. And the scheme-less
#   search restarts at every position and scans every label after it (``"+www." * 2000`` took
#   ~10 s), so a scheme-less host gets at most 10 labels (``a.b.c.d.example.co.uk`` has 7).
#   Hosts after ``https://`` are matched at one position and keep any number of labels.
# - each link costs ~0.1-0.2 ms (URL normalization, token splicing): ``"a.com\n" * 1666`` took
#   ~0.35 s. A comment gets at most 200 of them; past that, URLs stay text. Markdown links
#   ``[text](url)`` are not counted.
_SCHEME_WINDOW = 64
_AMBIGUOUS_LABEL = ucre.SRC_DOMAIN
_LABEL = _AMBIGUOUS_LABEL.replace("(?:" + ucre.SRC_XN + "|", "(?:", 1)
_MAX_FUZZY_HOST_LABELS = 10
_MAX_BRACKETED_PATH_PART = 200
_REWRITES = [
    (_AMBIGUOUS_LABEL, _LABEL),
    (  # the labels before the top-level domain, in the scheme-less host templates only
        f"(?:(?:(?:{_LABEL})\\.)+(?:%TLDS%))",
        f"(?:(?:(?:{_LABEL})\\.){{1,{_MAX_FUZZY_HOST_LABELS - 1}}}(?:%TLDS%))",
    ),
] + [  # a "(", "[", "{" or quote in a URL path: scanned for its closing character this far
    (f"{opener}{part}{repeat}", f"{opener}{part}{{{least},{_MAX_BRACKETED_PATH_PART}}}")
    for opener, part, repeat, least in [
        ("\\[", f"(?:(?!{ucre.SRC_ZCC}|\\]).)", "*", 0),
        ("\\(", f"(?:(?!{ucre.SRC_ZCC}|[)]).)", "*", 0),
        ("\\{", f"(?:(?!{ucre.SRC_ZCC}|[}}]).)", "*", 0),
        ('\\"', f'(?:(?!{ucre.SRC_ZCC}|["]).)', "+", 1),
        ("\\'", f"(?:(?!{ucre.SRC_ZCC}|[']).)", "+", 1),
    ]
]
_AUTOLINKS_PER_COMMENT = 200
# Context-local (so per thread): set by the first core rule of every parse.
_autolinks_left: ContextVar[int] = ContextVar("commentd_autolinks_left", default=0)


def _start_autolink_budget(state: StateCore) -> None:
    _autolinks_left.set(_AUTOLINKS_PER_COMMENT)


def _bounded_linkify(state: StateInline, silent: bool) -> bool:
    """markdown-it's inline linkify rule (``scheme://``), linear and within the budget."""
    if not state.src.startswith("://", state.pos) or _autolinks_left.get() <= 0:
        return False
    pending = state.pending
    if len(pending) > _SCHEME_WINDOW:
        start = state.pos
        state.pending = pending[-_SCHEME_WINDOW:]
        try:
            found = linkify(state, True)  # silent: reads the pending text, only moves pos
        finally:
            state.pending = pending
        if not found or silent:
            return found
        state.pos = start
    found = linkify(state, silent)
    if found and not silent:
        _autolinks_left.set(_autolinks_left.get() - 1)
    return found


_MAY_LINK = re.compile(r"[:.@]")


class _BoundedLinkify(LinkifyIt):
    """linkify-it without exponential or unbounded host matching, within the budget."""

    def _on_compile(self) -> None:  # linkify-it's hook for adjusting its regexes
        unused = {old for old, _ in _REWRITES}
        for name, pattern in self.re.items():
            if isinstance(pattern, str):
                for old, new in _REWRITES:
                    if old in pattern:
                        pattern = pattern.replace(old, new)
                        unused.discard(old)
                self.re[name] = pattern
        if unused:  # a linkify-it upgrade changed its patterns: fail loudly, not slowly
            raise RuntimeError(f"linkify-it patterns not found: {sorted(unused)}")

    def test(self, text: str) -> bool:
        # markdown-it asks this of every text token. A link needs a scheme's ":" (the schemes
        # left are http:, https: and mailto:), a fuzzy host's "." (a TLD or an IPv4 address)
        # or an e-mail's "@": without one, skip linkify-it's regexes (a fifth of a render).
        if _autolinks_left.get() <= 0 or not _MAY_LINK.search(text):
            return False
        return super().test(text)

    def match(self, text: str) -> list[Match] | None:
        left = _autolinks_left.get()
        found = super().match(text) if left > 0 else None
        if found:
            found = found[:left]
            _autolinks_left.set(left - len(found))
        return found


# --- Prose without Markdown, without the parser ----------------------------------------------

# Most comments are a few sentences of plain prose, which markdown-it takes about 40 us to turn
# into paragraphs. Text of only these pieces renders the same by hand in a few: every line
# starts with a letter (no list, heading, quote or code block can start there) and ends
# without a space (no hard break); letters, digits, spaces and ,;?!'"()- are inert inline;
# a "." or ":" only before a space or a line end (no host, address or scheme to linkify); no
# other character (no ``[`` ``*`` ``_`` ``` ` ``` ``<`` ``&`` ``\`` ``~`` ``@`` ``/``...).
# Blank lines separate paragraphs; a single newline is a soft break, kept as a newline.
# tests/services/test_render.py checks this against the parser on many generated texts.
_PROSE_LINE = r"[^\W\d_](?:[^\W_]|[ ,;?!'\"()\-]|[.:](?=[ \n]|\Z))*(?<! )"
_PROSE = re.compile(rf"{_PROSE_LINE}(?:\n+{_PROSE_LINE})*")
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")


def _prose(text: str) -> str | None:
    """``text``'s HTML before sanitizing if it is plain prose (see above), else None."""
    if not _PROSE.fullmatch(text):
        return None
    escaped = text.replace('"', "&quot;")  # no & < > in prose; markdown-it escapes quotes
    return "".join(f"<p>{part}</p>\n" for part in _PARAGRAPH_BREAK.split(escaped))


# --- Text past the nesting limit -------------------------------------------------------------
# markdown-it stops nesting blocks at ``maxNesting`` (20 levels: a list level takes two, a
# quote one) and silently drops whatever lies deeper: list items past the ninth level,
# quoted text past the nineteenth. A reader's words may be flattened, never lost: a block
# that would open past the limit is rendered instead as one plain paragraph per source line,
# the list and quote markers taken off. Inline rules past their own limit already fall back
# to text.

_BLOCK_MARKERS = re.compile(r"^(?:[ \t]*(?:>|[-*+](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)))*[ \t]*")


_FLATTENED: dict = {"commentd": "flattened"}  # the meta of the paragraphs made here


def _keep_deep_text(tokenize):
    """``ParserBlock.tokenize`` that flattens, instead of dropping, blocks past the limit."""

    def tokenize_or_flatten(state: StateBlock, start_line: int, end_line: int) -> None:
        if state.level < state.md.options.maxNesting:
            tokenize(state, start_line, end_line)
            return
        line = start_line
        while line < end_line:
            line = state.skipEmptyLines(line)
            if line >= end_line or state.sCount[line] < state.blkIndent:
                break  # the nested block ends here, as in ``tokenize``
            text = state.getLines(line, line + 1, state.blkIndent, False)
            text = _BLOCK_MARKERS.sub("", text).strip()
            if text:
                opening = state.push("paragraph_open", "p", 1)
                inline = state.push("inline", "", 0)
                inline.content, inline.map, inline.children = text, [line, line + 1], []
                opening.map, opening.meta = inline.map, _FLATTENED
                state.push("paragraph_close", "p", -1).meta = _FLATTENED
            line += 1
        state.line = line

    return tokenize_or_flatten


# --- Parser, built once -----------------------------------------------------------------------


@functools.cache
def _build_markdown(breaks: bool = False, raw_html: bool = False) -> MarkdownIt:
    md = MarkdownIt(
        "commonmark", {"html": raw_html, "breaks": breaks, "linkify": True, "typographer": False}
    )
    md.enable(["linkify", "strikethrough"])
    md.linkify = _BoundedLinkify()
    # Link only what the sanitizer keeps: ftp:// or //host would lose its href.
    md.linkify.add("ftp:", None)
    md.linkify.add("//", None)
    md.helpers = SimpleNamespace(  # this instance only; markdown_it.helpers is untouched
        parseLinkLabel=_parse_link_label,
        # ``![x](`` scans the same destination twice (image rule, then link rule): memoize.
        # Pure function, result objects are only read: a small shared cache is thread-safe.
        parseLinkDestination=functools.lru_cache(maxsize=8)(helpers.parseLinkDestination),
        parseLinkTitle=helpers.parseLinkTitle,
    )
    md.inline.ruler.at("linkify", _bounded_linkify)
    md.block.tokenize = _keep_deep_text(md.block.tokenize)  # type: ignore[method-assign]
    md.core.ruler.before("normalize", "commentd_autolink_budget", _start_autolink_budget)
    md.core.ruler.push("commentd_adapt", _adapt_tokens)
    return md


_MD = _build_markdown()


def render(
    text: str, *, source: str = "markdown", breaks: bool = False, raw_html: bool = False
) -> str:
    """Markdown source -> safe HTML (CommonMark, raw HTML escaped, sanitized by nh3).

    ``source="html"`` takes HTML instead (imported comments) and only sanitizes it, with the
    same allow-list, URL schemes and link ``rel`` as rendered Markdown.

    Two options render Markdown as some peers do (imported Waline and Artalk comments); a
    reader's comment uses neither:

    - ``breaks=True``: a single newline inside a paragraph is a line break (``<br>``).
    - ``raw_html=True``: raw HTML in the source is passed to the sanitizer instead of escaped,
      so what the allow-list keeps stays (``<a href>``, ``<em>``, ``<code>``...), ``<b>`` and
      ``<i>`` become ``<strong>`` and ``<em>``, ``<img src alt>`` becomes a link to the image
      like a Markdown image, and anything else is removed with its text kept (script and
      style with their content, event handlers and unsafe URLs always).

    - Raw HTML in the source is escaped and shows as text (``<b>`` -> ``&lt;b&gt;``).
    - Bare URLs (``https://...``, ``www.``, ``host.tld``, e-mail addresses) become links.
    - ``~~x~~`` -> ``<del>x</del>``; a heading keeps its text as a plain ``<p>``.
    - Images never produce ``<img>``: ``![alt](url)`` renders as the link
      ``<a href="url">alt</a>`` (the URL is the link text when ``alt`` is empty); an image
      inside a link renders as its alt text only.
    - Limits against slow input (details in the "Denial-of-service guards" section): link text
      of at most 1000 characters and 20,000 label-scan steps per comment (then brackets stay
      text); at most 200 bare URLs or addresses become links; scheme-less hosts have at most
      10 labels; a bracketed part of a bare URL's path is at most 200 characters long.
    - Links keep ``href`` only for http, https and mailto and get ``rel="nofollow ugc noopener"``.
    - Fenced code keeps ``class="language-<name>"`` only; ``<ol start>`` is kept.

    Empty or whitespace-only text renders to "". The output is deterministic.
    """
    if not text or text.isspace():
        return ""
    if source == "html":
        return _CLEANER.clean(text)
    if source != "markdown":
        raise ValueError(f"unknown source {source!r}")
    if breaks or raw_html:
        html = _build_markdown(breaks, raw_html).render(text)
        return _clean_raw(html) if raw_html else _CLEANER.clean(html)
    html = _prose(text)
    return _CLEANER.clean(_MD.render(text) if html is None else html)
