"""Reading a thread in the embed: votes, sorting, paging, permalinks, counts on index pages,
themes, languages, several mounts on one page, and privacy (no cookies, no third parties)."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

import pytest

from commentd.services.i18n import LANGUAGES
from commentd.storage.models import Comment
from tests.browser.conftest import (
    colors,
    contrast,
    embed,
    english_count,
    local_json,
    luminance,
    no_page_errors,
    origin_of,
    plural,
    strings,
    wait_thread,
)

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

ZERO = re.compile(r"^\s*0?\s*$")


def post_many(site, count: int, uri: str = "/post/") -> list[int]:
    """``count`` top-level comments "Comment 0", "Comment 1"..., oldest first; their ids."""
    return [
        site.comment(uri, text=f"Comment {n}", author=f"Reader {n}")["id"] for n in range(count)
    ]


def bodies(page):
    return page.locator("article.cd-comment div.cd-body")


def test_vote_changes_counts_and_pressed_state(site, page):
    s = site()
    comment = s.comment(text="Vote on me", author="Bob")
    Comment.update(voter="someone-else").execute()  # not the browser's own comment
    page.goto(s.add_page())
    wait_thread(page, 1)

    article = page.locator(f"#c{comment['id']}")
    like, dislike = article.locator("button.cd-like"), article.locator("button.cd-dislike")
    likes, dislikes = like.locator("span.cd-likes"), dislike.locator("span.cd-dislikes")
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(dislike).to_have_attribute("aria-pressed", "false")
    expect(likes).to_have_text(ZERO)

    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(likes).to_have_text("1")
    expect(dislike).to_have_attribute("aria-pressed", "false")

    dislike.click()
    expect(dislike).to_have_attribute("aria-pressed", "true")
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(dislikes).to_have_text("1")
    expect(likes).to_have_text(ZERO)
    stored = s.api.thread("/post/").json["comments"][0]
    assert (stored["likes"], stored["dislikes"]) == (0, 1)
    assert local_json(page, "commentd:votes") == {str(comment["id"]): -1}

    page.reload()  # the vote is remembered
    wait_thread(page, 1)
    expect(dislike).to_have_attribute("aria-pressed", "true")
    expect(dislikes).to_have_text("1")

    dislike.click()  # pressing again withdraws it
    expect(dislike).to_have_attribute("aria-pressed", "false")
    expect(dislikes).to_have_text(ZERO)
    stored = s.api.thread("/post/").json["comments"][0]
    assert (stored["likes"], stored["dislikes"]) == (0, 0)
    no_page_errors(page)


def test_sort_orders(site, page):
    s = site()
    ids = post_many(s, 3)
    Comment.update(likes=5).where(Comment.id == ids[1]).execute()
    page.goto(s.add_page())
    wait_thread(page, 3)
    expect(bodies(page)).to_have_text(["Comment 0", "Comment 1", "Comment 2"])
    expect(page.locator("select.cd-sort")).to_have_value("oldest")

    page.locator("select.cd-sort").select_option("newest")
    expect(bodies(page)).to_have_text(["Comment 2", "Comment 1", "Comment 0"])
    page.locator("select.cd-sort").select_option("top")
    expect(bodies(page).first).to_have_text("Comment 1")
    expect(bodies(page)).to_have_count(3)

    page.goto(s.add_page("/newest/", body=embed("/post/", sort="newest")))
    wait_thread(page, 3)
    expect(page.locator("select.cd-sort")).to_have_value("newest")
    expect(bodies(page)).to_have_text(["Comment 2", "Comment 1", "Comment 0"])
    no_page_errors(page)


def test_load_more_appends_pages_then_disappears(site, page):
    s = site(**{"comments.page_size": 3})
    post_many(s, 7)
    page.goto(s.add_page())
    wait_thread(page, 7, shown=3)

    more = page.locator("button.cd-more")
    expect(more).to_be_visible()
    more.click()
    expect(page.locator("article.cd-comment")).to_have_count(6)
    more.click()
    expect(page.locator("article.cd-comment")).to_have_count(7)
    expect(more).to_be_hidden()
    expect(bodies(page)).to_have_text([f"Comment {n}" for n in range(7)])
    no_page_errors(page)


def test_a_late_answer_does_not_mix_two_sort_orders(site, page):
    """A reader on a slow connection clicks "load more", then changes the sort before that
    page arrives; or changes the sort twice: only the order chosen last may be shown, and
    paging must go on in that order."""
    s = site(**{"comments.page_size": 3})
    ids = post_many(s, 7)
    Comment.update(likes=9).where(Comment.id == ids[5]).execute()
    Comment.update(likes=5).where(Comment.id == ids[2]).execute()
    page.goto(s.add_page())
    wait_thread(page, 7, shown=3)
    held = []

    def hold(route):
        held.append(route)

    def release(pattern):
        with page.expect_response(pattern):
            for route in held:
                route.continue_()
        held.clear()
        page.unroute(pattern, hold)
        page.evaluate("new Promise((done) => setTimeout(done, 100))")  # let it be handled

    more_page = re.compile(r"/api/comments\?.*cursor=")
    page.route(more_page, hold)
    page.locator("button.cd-more").click()
    page.locator("select.cd-sort").select_option("newest")
    expect(bodies(page)).to_have_text(["Comment 6", "Comment 5", "Comment 4"])
    release(more_page)  # the oldest-first page 2 arrives late
    expect(bodies(page)).to_have_text(["Comment 6", "Comment 5", "Comment 4"], timeout=3000)
    page.locator("button.cd-more").click()
    expect(bodies(page)).to_have_text([f"Comment {n}" for n in (6, 5, 4, 3, 2, 1)])

    oldest = re.compile(r"/api/comments\?.*sort=oldest")
    page.route(oldest, hold)
    page.locator("select.cd-sort").select_option("oldest")  # slow
    page.locator("select.cd-sort").select_option("top")  # fast
    expect(bodies(page)).to_have_text(["Comment 5", "Comment 2", "Comment 0"])
    release(oldest)
    expect(page.locator("select.cd-sort")).to_have_value("top")
    expect(bodies(page)).to_have_text(["Comment 5", "Comment 2", "Comment 0"], timeout=3000)
    no_page_errors(page)


def test_permalink_to_a_later_page_is_scrolled_to_and_highlighted(site, page):
    s = site(**{"comments.page_size": 3})
    ids = post_many(s, 7)
    spacer = '<p style="height: 2500px">The long text of the post.</p>\n'
    url = s.add_page(body=spacer + embed())

    page.goto(f"{url}#c{ids[-1]}")
    target = page.locator(f"#c{ids[-1]}")
    expect(target).to_have_class(re.compile(r"\bcd-highlight\b"))
    expect(target).to_be_in_viewport()
    expect(target.locator("div.cd-body")).to_have_text("Comment 6")
    expect(page.locator(f"#c{ids[0]}")).not_to_have_class(re.compile(r"\bcd-highlight\b"))
    no_page_errors(page)


@pytest.mark.parametrize("script", ["count.js", "embed.js"])
@pytest.mark.parametrize(("page_lang", "lang"), [("zh-TW", "zh-Hant"), ("iw", "he"), ("ar", "ar")])
def test_count_words_are_in_the_language_the_embed_picks(site, page, script, page_lang, lang):
    s = site()
    for text in ("one", "two", "three"):
        s.comment("/a/", text=text)
    body = '<p><a id="words" href="/a/#commentd" data-commentd-count-text>A</a></p>'
    page.goto(s.add_page("/", body=body, scripts=s.script(script), lang=page_lang))
    expect(page.locator("#words")).to_have_text(plural(page, lang, strings(lang)["comments"], 3))
    no_page_errors(page)


@pytest.mark.parametrize("script", ["count.js", "embed.js"])
def test_counts_fill_every_element_in_one_request(site, page, context, script):
    s = site()
    first = s.comment("/a/", text="one")
    s.comment("/a/", text="two")
    s.comment("/a/", text="a reply", parent=first["id"])
    gone = s.comment("/a/", text="deleted")
    assert s.api.delete(f"/api/comments/{gone['id']}", token=gone["token"]).status == 200
    s.comment("/b/", text="only one")
    body = f"""
    <p><span id="span-a" data-commentd-count="/a/">?</span> comments on A</p>
    <ul>
      <li><a id="link-a" href="/a/#commentd">A</a></li>
      <li><a id="link-b" href="/b/#commentd">B</a></li>
      <li><a id="link-c" href="{s.page_origin}/c/#commentd">C</a></li>
      <li><a id="words-a" href="/a/#commentd" data-commentd-count-text>A</a></li>
      <li><a id="words-b" href="/b/#commentd" data-commentd-count-text>B</a></li>
      <li><a id="plain" href="/b/">B, no count</a></li>
    </ul>
    """
    de = strings("de")
    page.goto(s.add_page("/", body=body, scripts=s.script(script), lang="de"))

    expect(page.locator("#span-a")).to_have_text("3")
    expect(page.locator("#link-a")).to_have_text("3")
    expect(page.locator("#link-b")).to_have_text("1")
    expect(page.locator("#link-c")).to_have_text("0")
    expect(page.locator("#words-a")).to_have_text(plural(page, "de", de["comments"], 3))
    expect(page.locator("#words-b")).to_have_text(plural(page, "de", de["comments"], 1))
    expect(page.locator("#plain")).to_have_text("B, no count")
    # Every count request is sent before any number can be shown: they are all recorded.
    counts = [r for r in context.requests if urlsplit(r.url).path == "/api/counts"]
    assert len(counts) == 1, [f"{r.method} {r.url}" for r in counts]
    no_page_errors(page)


# data-theme -> the resolved theme when the reader's system prefers light, and dark.
THEMES = {"dark": ("dark", "dark"), "auto": ("light", "dark"), "light": ("light", "light")}


def test_theme(site, page):
    s = site()
    s.comment(text="Some text to read", author="Bob")
    body = "\n".join(
        f'<div class="mount" id="t-{theme}" data-uri="/post/" data-theme="{theme}"></div>'
        for theme in THEMES
    )
    page.goto(s.add_page("/themes/", body=body, scripts=s.script() + EVERY_MOUNT))
    for preferred, scheme in enumerate(("light", "dark")):
        page.emulate_media(color_scheme=scheme)  # "auto" follows it, live
        for theme, resolved in THEMES.items():
            mount = page.locator(f"#t-{theme}")
            root = mount.locator("section.cd-root")
            expect(mount.locator("article.cd-comment")).to_have_count(1)
            expect(root).to_have_attribute("data-theme", resolved[preferred])
            painted = colors(root)
            body = colors(mount.locator("article.cd-comment div.cd-body"))
            where = f"data-theme={theme}, system {scheme}"
            if resolved[preferred] == "dark":
                assert luminance(painted["bg"]) < 0.1, f"{where}: not a dark background {painted}"
                assert luminance(body["fg"]) > 0.4, f"{where}: not a light text colour {body}"
            else:
                assert luminance(painted["bg"]) > 0.7, f"{where}: not a light background {painted}"
                assert luminance(body["fg"]) < 0.2, f"{where}: not a dark text colour {body}"
            assert contrast(body["fg"], body["bg"]) >= 4.5, f"{where}: {body}"
    no_page_errors(page)


@pytest.mark.parametrize(("how", "lang"), [("html lang", "fr"), ("navigator", "es")])
def test_language_without_data_lang(site, new_context, how, lang):
    """data-lang is tested for every language in test_every_language_in_one_page."""
    s = site()
    s.comment(text="Eins", author="Ada")
    s.comment(text="Zwei", author="Bob")
    url = s.add_page(lang=lang if how == "html lang" else None)
    page = new_context(locale="es-ES" if how == "navigator" else "en-US").new_page()
    page.goto(url)
    words = strings(lang)

    root = page.locator("section.cd-root")
    expect(root).to_have_attribute("lang", lang)
    expect(root).to_have_attribute("aria-label", words["title_label"])
    expect(page.locator("article.cd-comment")).to_have_count(2)
    expect(page.locator("h2.cd-title")).to_have_text(plural(page, lang, words["comments"], 2))
    main = page.locator("form.cd-composer.cd-main")
    expect(main.locator("button.cd-submit")).to_have_text(words["submit"])
    expect(main.get_by_label(words["write"])).to_have_count(1)
    expect(page.locator("button.cd-reply").first).to_have_text(words["reply"])


CONTRACT_KEYS = [
    "comments",
    "title_label",
    "write",
    "name",
    "email",
    "website",
    "notify",
    "preview",
    "edit_text",
    "submit",
    "posting",
    "posted",
    "reply",
    "edit",
    "delete",
    "cancel",
    "save",
    "confirm_delete",
    "deleted",
    "pending",
    "load_more",
    "sort_label",
    "sort_oldest",
    "sort_newest",
    "sort_top",
    "like",
    "dislike",
    "anonymous",
    "remaining",
    "just_now",
    "markdown_help",
    "error_network",
    "error_too_long",
    "error_required",
    "error_invalid_email",
    "error_invalid_url",
    "error_thread_locked",
    "error_rate_limited",
    "error_origin_not_allowed",
    "error_edit_expired",
    "error_generic",
]
EVERY_MOUNT = """<script>
addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("div.mount")) commentd.mount(el);
});
</script>"""


def test_the_keys_sites_override_are_still_there():
    """Sites override these through ``window.commentd.strings`` (docs/embedding.md); the rest of
    every file's keys is tests/test_translations.py's job."""
    keys = set(strings("en"))
    assert set(CONTRACT_KEYS) <= keys, sorted(set(CONTRACT_KEYS) - keys)


def test_every_language_in_one_page(site, page):
    s = site()
    for n in range(5):  # 5: "many" in Russian and Polish
        s.comment(text=f"Comment {n}")
    body = "\n".join(
        f'<div class="mount" id="m-{lang}" data-uri="/post/" data-lang="{lang}"></div>'
        for lang in LANGUAGES
    )
    page.goto(s.add_page("/languages/", body=body, scripts=s.script() + EVERY_MOUNT))
    for lang in LANGUAGES:
        mount = page.locator(f"#m-{lang}")
        root = mount.locator("section.cd-root")
        expect(root).to_have_attribute("lang", lang)
        expect(mount.locator("article.cd-comment")).to_have_count(5)
        if lang == "en":
            heading, submit = english_count(5), "Post comment"
        else:
            words = strings(lang)
            heading, submit = plural(page, lang, words["comments"], 5), words["submit"]
            expect(root).to_have_attribute("aria-label", words["title_label"])
            expect(mount.get_by_label(words["write"])).to_have_count(1)
        expect(mount.locator("h2.cd-title")).to_have_text(heading)
        expect(mount.locator("button.cd-submit")).to_have_text(submit)
    no_page_errors(page)


def test_async_script_and_only_the_page_languages_file(site, page, context):
    s = site()
    s.comment(text="Hello")
    async_tag = f'<script src="{s.api_origin}/js/embed.js" async></script>'
    page.goto(s.add_page(scripts=async_tag))
    wait_thread(page, 1)
    expect(page.locator("button.cd-submit")).to_have_text("Post comment")
    # English is a language file like the others: the embed carries no words of its own
    assert [urlsplit(r.url).path for r in context.requests if "/js/i18n/" in r.url] == [
        "/js/i18n/en.json"
    ]


STRINGS_SCRIPT = '<script>window.commentd = {strings: {title_label: "Discussion"}};</script>'
MOUNT_SCRIPT = """<script>
addEventListener("DOMContentLoaded", () => {
  commentd.mount(document.getElementById("first"),
                 {uri: "/one/", title: "One", strings: {submit: "Send it"}});
  commentd.mount(document.getElementById("second"), {uri: "/two/", theme: "dark", lang: "de"});
});
</script>"""


def test_several_mounts_on_one_page(site, page):
    s = site()
    s.comment("/one/", text="On one")
    s.comment("/one/", text="Also on one")
    s.comment("/two/", text="On two")
    body = '<div id="first"></div>\n<div id="second"></div>'
    scripts = STRINGS_SCRIPT + s.script() + MOUNT_SCRIPT
    page.goto(s.add_page("/many/", body=body, scripts=scripts))

    first, second = page.locator("#first"), page.locator("#second")
    expect(first.locator("article.cd-comment")).to_have_count(2)
    expect(second.locator("article.cd-comment")).to_have_count(1)
    expect(first.locator("section.cd-root")).to_have_attribute("data-theme", "light")
    expect(second.locator("section.cd-root")).to_have_attribute("data-theme", "dark")
    expect(second.locator("section.cd-root")).to_have_attribute("lang", "de")
    expect(first.locator("h2.cd-title")).to_have_text(english_count(2))
    # Strings: window.commentd.strings for every mount, mount(el, {strings}) for one.
    expect(first.locator("section.cd-root")).to_have_attribute("aria-label", "Discussion")
    expect(second.locator("section.cd-root")).to_have_attribute("aria-label", "Discussion")
    expect(first.locator("button.cd-submit")).to_have_text("Send it")
    expect(second.locator("button.cd-submit")).to_have_text(strings("de")["submit"])

    form = first.locator("form.cd-composer.cd-main")
    form.locator("textarea[name=text]").fill("Posted in the first")
    form.locator("button.cd-submit").click()
    expect(first.locator("article.cd-comment")).to_have_count(3)
    expect(second.locator("article.cd-comment")).to_have_count(1)
    expect(second.get_by_text("Posted in the first")).to_have_count(0)
    assert s.api.thread("/one/").json["thread"]["total"] == 3
    assert s.api.thread("/two/").json["thread"]["total"] == 1
    assert s.api.thread("/one/").json["thread"]["title"] == "One"

    page.evaluate("commentd.unmount(document.getElementById('second'))")
    expect(second.locator("section.cd-root")).to_have_count(0)
    expect(first.locator("article.cd-comment")).to_have_count(3)
    no_page_errors(page)


def test_no_cookies_and_no_third_party_requests(site, page, context):
    s = site()
    other = s.comment(
        text="With [a link](https://example.org/)",
        author="Ada",
        email="ada@example.com",
        website="https://ada.example",
    )
    Comment.update(voter="someone-else").execute()
    page.goto(s.add_page())
    wait_thread(page, 1)

    # Gravatar is off by default: an identicon drawn in the page, no image from elsewhere.
    expect(page.locator(f"#c{other['id']} header .cd-avatar")).to_have_js_property(
        "localName", "svg"
    )
    author = page.locator(f"#c{other['id']} a.cd-author, #c{other['id']} .cd-author a")
    expect(author).to_have_attribute("href", "https://ada.example")
    expect(author).to_have_attribute("rel", "nofollow ugc noopener")
    page.locator(f"#c{other['id']} button.cd-like").click()
    expect(page.locator(f"#c{other['id']} span.cd-likes")).to_have_text("1")
    form = page.locator("form.cd-composer.cd-main")
    form.locator("textarea[name=text]").fill("Mine")
    form.locator("input[name=email]").fill("me@example.com")
    form.locator("button.cd-submit").click()
    expect(page.locator("article.cd-comment")).to_have_count(2)
    page.wait_for_load_state("networkidle")

    assert context.cookies() == []
    assert page.evaluate("document.cookie") == ""
    allowed = {s.api_origin, s.page_origin}
    foreign = [
        r.url
        for r in context.requests
        if not r.url.startswith(("data:", "blob:", "about:")) and origin_of(r.url) not in allowed
    ]
    assert not foreign, foreign
    no_page_errors(page)


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_gravatar_when_the_server_enables_it(site, new_context):
    """Off by default: see test_no_cookies_and_no_third_party_requests."""
    s = site(**{"comments.gravatar": True})
    s.comment(text="With an email", author="Ada", email="Ada@Example.com")
    context = new_context()
    asked: list[str] = []

    def gravatar(route):  # never the real network: answer with a 1x1 PNG
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    context.route("https://www.gravatar.com/**", gravatar)
    context.route("https://gravatar.com/**", gravatar)
    page = context.new_page()
    page.goto(s.add_page())
    wait_thread(page, 1)

    avatar = page.locator("article.cd-comment header .cd-avatar")
    expect(avatar).to_have_count(1)
    md5 = hashlib.md5(b"ada@example.com", usedforsecurity=False).hexdigest()
    expect(avatar).to_have_js_property("localName", "img")
    expect(avatar).to_have_attribute("src", re.compile(md5))
    expect(avatar).to_have_attribute("alt", "")
    page.wait_for_function("(img) => img.complete", arg=avatar.element_handle())
    assert asked, "the Gravatar image was never requested"
    assert all(md5 in url for url in asked), asked


def test_each_comment_keeps_its_own_direction(site, page):
    """A right-to-left comment reads right to left, isolated: bidi controls in a comment's
    text cannot reorder the page around it."""
    s = site()
    s.comment(text="مرحبا بالعالم", author="سارة")
    s.comment(text="\u202eevil override, never closed", author="Ada")
    page.goto(s.add_page())
    wait_thread(page, 2)
    styles = page.evaluate(
        """() => [...document.querySelector('#commentd').shadowRoot
              .querySelectorAll('article.cd-comment')].map(a => {
            const body = a.querySelector('.cd-body'), author = a.querySelector('.cd-author');
            const style = getComputedStyle(body);
            return [style.direction, style.unicodeBidi, getComputedStyle(author).unicodeBidi,
                    getComputedStyle(author).direction];
        })"""
    )
    assert styles == [["rtl", "isolate", "isolate", "rtl"], ["ltr", "isolate", "isolate", "ltr"]]
    no_page_errors(page)
