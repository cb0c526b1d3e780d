"""What a reader sees: Markdown source in, the exact HTML of ``render()`` out."""

from __future__ import annotations

import random
import re

import pytest

from commentd.services import render as render_module
from commentd.services.render import render
from tests.xss import assert_safe_html

REL = 'rel="nofollow ugc noopener"'


def link(href: str, text: str) -> str:
    return f'<a href="{href}" {REL}>{text}</a>'


EXACT = [
    ("paragraph", "Hello, world.", "<p>Hello, world.</p>\n"),
    ("two-paragraphs", "one\n\ntwo", "<p>one</p>\n<p>two</p>\n"),
    ("emphasis", "*em* and _em_", "<p><em>em</em> and <em>em</em></p>\n"),
    ("strong", "**b** and __b__", "<p><strong>b</strong> and <strong>b</strong></p>\n"),
    ("inline-code", "use `x < 1`", "<p>use <code>x &lt; 1</code></p>\n"),
    (
        "fenced-code-language",
        '```python\nprint("<hi>")\n```',
        '<pre><code class="language-python">print("&lt;hi&gt;")\n</code></pre>\n',
    ),
    ("fenced-code-c++", "```c++\nx\n```", '<pre><code class="language-c++">x\n</code></pre>\n'),
    ("fenced-code-plain", "```\nplain\n```", "<pre><code>plain\n</code></pre>\n"),
    ("indented-code", "    indented", "<pre><code>indented\n</code></pre>\n"),
    ("blockquote", "> quoted\n> more", "<blockquote>\n<p>quoted\nmore</p>\n</blockquote>\n"),
    ("bullet-list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"),
    ("ordered-list", "1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"),
    ("ordered-list-start", "3. a\n4. b", '<ol start="3">\n<li>a</li>\n<li>b</li>\n</ol>\n'),
    ("strikethrough", "~~gone~~", "<p><del>gone</del></p>\n"),
    ("single-tilde-is-text", "a ~b~ c", "<p>a ~b~ c</p>\n"),
    ("hr", "---", "<hr>\n"),
    ("hard-break", "line  \nbreak", "<p>line<br>\nbreak</p>\n"),
    ("no-typographer", '"quotes" -- dots...', '<p>"quotes" -- dots...</p>\n'),
    ("entities", "a &amp; b &#60;c&#62;", "<p>a &amp; b &lt;c&gt;</p>\n"),
    # links
    (
        "bare-url",
        "See https://example.com now",
        f"<p>See {link('https://example.com', 'https://example.com')} now</p>\n",
    ),
    (
        "bare-www",
        "www.example.com",
        f"<p>{link('http://www.example.com', 'www.example.com')}</p>\n",
    ),
    (
        "bare-email",
        "mail me@example.com",
        f"<p>mail {link('mailto:me@example.com', 'me@example.com')}</p>\n",
    ),
    (
        "bare-url-after-long-text",  # the linkify guard must keep the text order
        "[" + "x" * 100 + " https://example.com y",
        f"<p>[{'x' * 100} {link('https://example.com', 'https://example.com')} y</p>\n",
    ),
    ("bare-ftp-stays-text", "ftp://example.com", "<p>ftp://example.com</p>\n"),
    (
        "bare-host-in-prose",  # a "." between letters still links (an IPv4 address does not)
        "See example.com, not 192.168.1.1 too",
        f"<p>See {link('http://example.com', 'example.com')}, not 192.168.1.1 too</p>\n",
    ),
    (  # markdown-it shows the host decoded; the href keeps the punycode
        "bare-punycode-host",
        "www.xn--bcher-kva.ch",
        "<p>" + link("http://www.xn--bcher-kva.ch", "www.b\u00fccher.ch") + "</p>\n",
    ),
    (
        "bare-url-with-parentheses",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "<p>"
        + link("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)")
        + "</p>\n",
    ),
    (
        "autolink",
        "<https://example.com>",
        f"<p>{link('https://example.com', 'https://example.com')}</p>\n",
    ),
    (
        "inline-link-title-dropped",
        '[x](https://example.com "title")',
        f"<p>{link('https://example.com', 'x')}</p>\n",
    ),
    ("mailto-link", "[x](mailto:me@example.com)", f"<p>{link('mailto:me@example.com', 'x')}</p>\n"),
    (
        "reference-links",
        "[a]: https://example.com\n\n[a] and [b][a]",
        f"<p>{link('https://example.com', 'a')} and {link('https://example.com', 'b')}</p>\n",
    ),
    # raw HTML is text
    ("raw-html-escaped", "<b>hi</b>", "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"),
    (
        "raw-script-escaped",
        "<script>alert(1)</script>",
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n",
    ),
    ("raw-comment-escaped", "x <!-- c --> y", "<p>x &lt;!-- c --&gt; y</p>\n"),
    # headings: the text stays, as a paragraph
    ("atx-heading", "# Title", "<p>Title</p>\n"),
    ("heading-then-text", "## Sub\ntext", "<p>Sub</p>\n<p>text</p>\n"),
    ("setext-heading", "Title\n=====", "<p>Title</p>\n"),
    # no tables in CommonMark
    ("table-is-text", "| a |\n|---|\n| 1 |", "<p>| a |\n|---|\n| 1 |</p>\n"),
    # images: a link to the image, never <img>
    (
        "image-is-link",
        "![a *cat*](https://example.com/cat.png)",
        f"<p>{link('https://example.com/cat.png', 'a cat')}</p>\n",
    ),
    (
        "image-without-alt",
        "![](https://example.com/cat.png)",
        f"<p>{link('https://example.com/cat.png', 'https://example.com/cat.png')}</p>\n",
    ),
    (
        "image-alt-markup-stripped",
        "![a *b*\n`c` ![d](y)](https://example.com/x.png)",
        f"<p>{link('https://example.com/x.png', 'a b c d')}</p>\n",
    ),
    (
        "image-inside-link",
        "[![a cat](https://example.com/cat.png)](https://example.com)",
        f"<p>{link('https://example.com', 'a cat')}</p>\n",
    ),
]


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in EXACT], ids=[c[0] for c in EXACT])
def test_renders(source, expected):
    html = render(source)
    assert html == expected
    assert_safe_html(html)


# A peer's Markdown (imported Waline and Artalk comments): line breaks kept, raw HTML sanitized.
PEER = [
    ("single-newline-is-a-break", "a\nb", "<p>a<br>\nb</p>\n"),
    ("prose-too", "One line\nAnother line", "<p>One line<br>\nAnother line</p>\n"),
    ("b-and-i", "<b>x</b> <i>y</i>", "<p><strong>x</strong> <em>y</em></p>\n"),
    (
        "raw-link",
        '<a href="https://example.com" title="t">x</a>',
        f"<p>{link('https://example.com', 'x')}</p>\n",
    ),
    (
        "img-is-link",
        'a <img alt="a &lt;cat&gt;" src="https://example.com/c.png" width="9"/>',
        f"<p>a {link('https://example.com/c.png', 'a &lt;cat&gt;')}</p>\n",
    ),
    ("img-without-src", '<img alt="only alt">', "only alt"),
    ("script-gone", "a <script>alert(1)</script> b", "<p>a  b</p>\n"),
    ("handler-gone", '<em onclick="alert(1)">x</em>', "<p><em>x</em></p>\n"),
    ("other-tags-text", '<span style="color:red">x</span>', "<p>x</p>\n"),
]


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in PEER], ids=[c[0] for c in PEER])
def test_renders_a_peers_markdown(source, expected):
    assert render(source, breaks=True, raw_html=True) == expected


def test_reader_comments_keep_commonmark_without_raw_html():
    assert render("a\n<b>b</b>") == "<p>a\n&lt;b&gt;b&lt;/b&gt;</p>\n"
    assert render("a\nb", breaks=True) == "<p>a<br>\nb</p>\n"
    assert render("<b>b</b>", raw_html=True) == "<p><strong>b</strong></p>\n"


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x](data:image/png;base64,AAAA)",
        "[x](file:///etc/passwd)",
        "[x](ftp://example.com)",
        "[x](/relative)",
        "[x](//example.com)",
        "[x](#fragment)",
        "![x](javascript:alert(1))",
        "![x](data:image/svg+xml,<svg/onload=alert(1)>)",
        "<x:javascript:alert(1)>",
        "[x]: javascript:alert(1)\n\n[x]",
    ],
)
def test_unsafe_or_relative_link_has_no_href(source):
    html = render(source)
    assert "href" not in html
    assert "x" in html  # the reader still sees the text
    assert_safe_html(html)


@pytest.mark.parametrize(
    "source",
    [
        "https://example.com",
        "[x](https://example.com)",
        "<https://example.com>",
        "![x](https://example.com/x.png)",
        "[x](/relative)",  # a link without href still gets rel
        "a www.example.com b me@example.com",
    ],
)
def test_every_link_is_nofollow_ugc_noopener(source):
    html = render(source)
    anchors = re.findall(r"<a\b[^>]*>", html)
    assert anchors
    assert all(REL in anchor for anchor in anchors), html


@pytest.mark.parametrize(
    "info",
    [
        'evil"onmouseover=alert(1)',
        "javascript:alert(1)",
        "a" * 41,
        "py<script>",
        "caf\u00e9",  # a non-ASCII letter
    ],
)
def test_fenced_code_drops_a_class_outside_language_names(info):
    html = render(f"```{info}\ncode\n```")
    assert html == "<pre><code>code\n</code></pre>\n"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<code class="evil">x</code>', "<code>x</code>"),
        ('<code class="evil language-python">x</code>', '<code class="language-python">x</code>'),
        ('<ol start="3x"><li>a</li></ol>', "<ol><li>a</li></ol>"),
        ('<p title="t" lang="en" id="i" style="color:red" onclick="x()">p</p>', "<p>p</p>"),
        ('<a href="https://e.com" rel="opener" target="_blank">a</a>', link("https://e.com", "a")),
        ("<h1>T</h1><img src=x><table><tr><td>c</td></tr></table>", "Tc"),
        ("<script>alert(1)</script><style>p{}</style><!-- c -->ok", "ok"),
    ],
)
def test_sanitizer_stage_keeps_only_the_allow_list(html, expected):
    # markdown-it cannot emit these (raw HTML is off): this is the second line of defence, on
    # its own, in case the Markdown stage ever lets markup through.
    assert render_module._CLEANER.clean(html) == expected


@pytest.mark.parametrize("source", ["", " ", "\n\n", "\t \r\n  "])
def test_blank_renders_to_empty_string(source):
    assert render(source) == ""


def test_output_is_deterministic():
    source = "# T\n\n*a* [b](https://e.com) ![c](https://e.com/c.png) www.e.com\n\n1. x\n"
    assert len({render(source) for _ in range(5)}) == 1


def test_link_text_longer_than_the_limit_is_not_a_link():
    # DoS limit (see render.py): link text ends within 1000 characters.
    short, long = "a" * 1000, "a" * 1001
    assert render(f"[{short}](https://e.com)") == f"<p>{link('https://e.com', short)}</p>\n"
    bare_url = link("https://e.com", "https://e.com")
    assert render(f"[{long}](https://e.com)") == f"<p>[{long}]({bare_url})</p>\n"


def test_links_still_work_after_many_brackets_within_the_budget():
    source = "[1] " * 300 + "[x](https://e.com)"
    assert render(source).endswith(f"{link('https://e.com', 'x')}</p>\n")


def test_links_stop_once_the_label_scan_budget_is_spent():
    # DoS limit (see render.py): 2000 unclosed brackets spend the comment's label-scan budget;
    # later brackets stay text, bare URLs are still linked.
    html = render("[" * 2000 + "\n\n[x](https://e.com)")
    assert html.endswith(f"<p>[x]({link('https://e.com', 'https://e.com')})</p>\n")


def test_at_most_200_bare_urls_become_links():
    # DoS limit (see render.py): each bare URL costs ~0.1-0.2 ms; Markdown links do not count.
    html = render("a.com " * 150 + "https://b.com " * 60 + "[c](https://c.com)")
    assert html.count("<a ") == 201
    assert html.count(">https://b.com<") + html.count(">a.com<") == 200
    assert html.endswith(f"{link('https://c.com', 'c')}</p>\n")


def test_the_autolink_budget_is_per_comment():
    first, second = render("a.com " * 300), render("a.com")
    assert first.count("<a ") == 200
    assert second == f"<p>{link('http://a.com', 'a.com')}</p>\n"


def test_scheme_less_hosts_have_at_most_ten_labels():
    # DoS limit (see render.py); after a scheme, a host may have any number of labels.
    ten, eleven = "a.b.c.d.e.f.g.h.i.com", "a.b.c.d.e.f.g.h.i.j.com"
    assert render(ten) == f"<p>{link('http://' + ten, ten)}</p>\n"
    assert render(eleven) == f"<p>{eleven}</p>\n"
    many = "https://a.b.c.d.e.f.g.h.i.j.k.l.com"
    assert render(many) == f"<p>{link(many, many)}</p>\n"


def test_a_changed_linkify_it_fails_loudly(monkeypatch):
    # The linkify guards rewrite linkify-it's patterns; if an upgrade renames them, building
    # the parser must fail rather than silently bring back the slow patterns.
    monkeypatch.setattr(render_module, "_REWRITES", [("no such pattern", "")])
    with pytest.raises(RuntimeError, match="linkify-it patterns not found"):
        render_module._BoundedLinkify()


PROSE_CASES = [
    "I really liked this post. Thanks for writing it, it helped a lot!",
    'He said "no" (twice) - and left; why?',
    "First paragraph.\n\nSecond one, with a soft\nbreak.",
    "Stra\u00dfe, caf\u00e9 and \u0416\u0443\u043a. \u4e2d\u6587 too",
    "Version 2) is out",
    "One question: why?\nThe answer:",
    "a\n\n\n\nb",
    # not prose: each must take the parser, and render as it says
    "1. a list",
    "- a list",
    "e.g. this",
    "example.com.",
    "Dr. Who\n===",
    "trailing \nspace",
    "  indented",
    "Tom & Jerry",
    "snake_case",
    "a:b",
    "mailto:me",
    "see http: example",
    "x.",
]


def parsed(text: str) -> str:
    """What the Markdown parser and the sanitizer make of ``text``, with no shortcut."""
    return render_module._CLEANER.clean(render_module._MD.render(text))


@pytest.mark.parametrize("text", PROSE_CASES)
def test_plain_prose_renders_as_the_parser_renders_it(text):
    assert render(text) == parsed(text)


def test_generated_prose_renders_as_the_parser_renders_it():
    """Texts built from the characters the prose shortcut takes, and a few it must refuse,
    in every arrangement: the shortcut takes most of them, and agrees with the parser."""
    prose = [
        *"abcxyzABCZ",
        "\u00e9",
        "\u00df",
        "\u0416",
        "\u4e2d",
        *"0123456789",
        *" ,;?!'\"()-.:",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
    ]
    pieces = [
        *prose,
        *"*_`[]<>&#~:@/=+|\\\t",
        "1. ",
        "- ",
        "www.",
        ".com",
    ]
    generator = random.Random(6)
    shortcut = 0
    for _ in range(4000):
        if generator.random() < 0.5:  # anything
            text = "".join(generator.choices(pieces, k=generator.randint(1, 30)))
        else:  # prose's characters only, starting with a letter: mostly prose
            text = "A" + "".join(generator.choices(prose, k=generator.randint(0, 30)))
        shortcut += render_module._prose(text) is not None
        assert render(text) == parsed(text), repr(text)
    assert shortcut > 500  # the shortcut was exercised, not only the fallback


# -- nesting past markdown-it's limit: flattened, never lost ------------------------------------

WORD = re.compile(r"w\d+")

DEEP = {
    "list-30-levels": "".join("  " * i + f"- w{i}\n" for i in range(30)),
    "ordered-30-levels": "".join("   " * i + f"1. w{i}\n" for i in range(30)),
    "quote-40-levels": "".join(">" * i + f" w{i}\n\n" for i in range(1, 40)),
    "quote-40-one-paragraph": "".join(">" * 40 + f" w{i}\n" for i in range(5)),
    "markers-on-one-line": "- " * 30 + "w0\n" + "> " * 30 + "w1\n" + "1. " * 30 + "w2",
    "quoted-lists": "".join("> " * i + "- " * i + f"w{i}\n\n" for i in range(1, 25)),
    "list-then-code": "".join("  " * i + f"- w{i}\n" for i in range(15)) + "\n        w99 code\n",
}


@pytest.mark.parametrize("name", DEEP)
def test_nesting_past_the_limit_keeps_every_word(name):
    source = DEEP[name]
    html = render(source)
    assert sorted(WORD.findall(html)) == sorted(WORD.findall(source))
    assert_safe_html(html)


def test_text_past_the_limit_becomes_plain_paragraphs():
    html = render("".join("  " * i + f"- w{i}\n" for i in range(12)))
    assert html.count("<ul>") == 10  # the nine levels markdown-it nests, then one more
    assert "<p>w10</p>\n<p>w11</p>" in html  # the rest: one paragraph per line, no markers
    deep = render(">" * 25 + " *em* and [a link](https://example.com/)")
    assert deep.count("<blockquote>") == 20
    assert "<p><em>em</em> and " + link("https://example.com/", "a link") + "</p>" in deep


def test_generated_nesting_keeps_every_word():
    """Lines of random list, quote and indentation markers, each with its own word."""
    pick = random.Random(16)
    markers = ["- ", "* ", "1. ", "> ", "  ", "    ", "\t", ">"]
    for _ in range(300):
        lines = [
            "".join(pick.choice(markers) for _ in range(pick.randrange(0, 40))) + f"w{n}"
            for n in range(pick.randrange(1, 12))
        ]
        source = "\n".join(line + "\n" * pick.randrange(1, 3) for line in lines)
        html = render(source)
        assert sorted(WORD.findall(html)) == sorted(WORD.findall(source)), source
