"""Accessibility: axe-core finds no violation in a full thread (comments, nested replies, your
own comment with its edit controls, a vote, new comments shown by the live updates and the
"N new comments" button, an open reply form and the main composer), in the
light and the dark theme. Full-page screenshots of both go to ``test-output/screenshots/``.

axe-core is a test fixture installed by ``npm ci --prefix tests/browser``; it works across the
embed's open shadow root.
"""

from __future__ import annotations

import json

import pytest

from commentd.storage.models import Comment
from tests.browser.conftest import AXE_JS, SCREENSHOTS, embed, no_page_errors, wait_thread

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target, html: n.html, summary: n.failureSummary})),
  }));
}"""

LONG = """A longer comment, with the things Markdown gives:

- a list item with **bold** text
- another with a [link](https://example.org/docs)

> A quoted line from the post.

```
code block: print("hello")
```

Inline `code` and ~~struck~~ text."""

DARK_PAGE = "body { background: #121212; color: #e8e8e8; }"


def build_thread(site) -> dict[str, int]:
    first = site.comment(text="Great post, thanks!", author="Ada", website="https://ada.example")
    reply = site.comment(text="Agreed with *Ada*.", author="Bob", parent=first["id"])
    site.comment(text="A reply, one level deeper.", author="Cy", parent=reply["id"])
    long = site.comment(text=LONG, author="Dee", email="dee@example.com")
    site.comment(text="Anonymous thought.")
    Comment.update(voter="someone-else").execute()
    return {"first": first["id"], "long": long["id"]}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_thread_has_no_axe_violations(site, page, theme):
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core missing at {AXE_JS}: run npm ci --prefix tests/browser")
    s = site()
    ids = build_thread(s)
    style = DARK_PAGE if theme == "dark" else ""
    page.goto(s.add_page(body=embed(theme=theme, poll="0.3"), style=style))
    wait_thread(page, 5)

    form = page.locator("form.cd-composer.cd-main")
    form.locator("textarea[name=text]").fill("My own comment, with edit controls.")
    form.locator("input[name=author]").fill("Me")
    form.locator("button.cd-submit").click()
    expect(page.locator("article.cd-comment")).to_have_count(6)
    expect(page.locator("button.cd-edit")).to_have_count(1)
    page.locator(f"#c{ids['long']} button.cd-like").click()
    expect(page.locator(f"#c{ids['long']} button.cd-like")).to_have_attribute(
        "aria-pressed", "true"
    )
    s.comment(text="A comment that arrived while the page was open.", author="Eve")
    page.locator("button.cd-news").click()
    expect(page.locator("article.cd-comment.cd-fresh")).to_have_count(1)
    s.comment(text="And another one.", author="Fay")
    expect(page.locator("button.cd-news")).to_be_visible()
    page.locator(f"#c{ids['first']} button.cd-reply").first.click()
    expect(page.locator("form.cd-composer.cd-reply-form")).to_be_visible()
    form.locator("textarea[name=text]").fill("A draft in the main composer.")
    form.locator("textarea[name=text]").blur()
    page.mouse.move(0, 0)  # no hover state in the screenshot

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"thread-{theme}.png"), full_page=True)

    page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate(AXE_RUN)
    print(f"\naxe-core, {theme} theme: {len(violations)} violation(s)")
    assert violations == [], f"axe-core violations ({theme}):\n" + json.dumps(
        violations, indent=2, ensure_ascii=False
    )
    no_page_errors(page)
