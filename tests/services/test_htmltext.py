"""Imported HTML as Markdown-ish source text, for a moderator to edit later."""

from __future__ import annotations

import pytest

from commentd.services.importers.htmltext import html_to_text, modern_tags, plain_to_html
from commentd.services.render import render


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two  words\n here</p>", "One\n\nTwo words here"),
        (
            "<p><strong>bold</strong>, <em>it</em>, <code>x()</code>, <del>gone</del></p>",
            "**bold**, *it*, `x()`, ~~gone~~",
        ),
        (
            '<p><a href="https://example.org/?a=1&amp;b=2">a link</a></p>',
            "[a link](https://example.org/?a=1&b=2)",
        ),
        ('<p><a href="mailto:a@example.org">mail</a> stays text</p>', "mail stays text"),
        ("<p>line<br>break</p>", "line\nbreak"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("<blockquote><p>quoted</p></blockquote><p>after</p>", ">\n\n> quoted\n\n>\n\nafter"),
        ("<pre><code>a  =  1\n  b</code></pre>", "```\na  =  1\n  b\n```"),
        ("<p>&lt;script&gt; &amp; caf\u00e9\u00a0\u2003end</p>", "<script> & caf\u00e9 end"),
        ("", ""),
    ],
    ids=[
        "paragraphs",
        "inline",
        "link",
        "non-web-link",
        "break",
        "list",
        "quote",
        "pre",
        "entities-and-unicode-spaces",
        "empty",
    ],
)
def test_structure_becomes_markdown(html, text):
    assert html_to_text(render(html, source="html")) == text


def test_old_tags_and_plain_text_as_wordpress_shows_them():
    assert modern_tags("<B>x</B> <i class=y>z</i>") == "<strong>x</strong> <em class=y>z</em>"
    assert plain_to_html("one\ntwo\n\nthree") == "<p>one<br>\ntwo</p>\n<p>three</p>\n"
    assert plain_to_html("<p>already html</p>") == "<p>already html</p>"
