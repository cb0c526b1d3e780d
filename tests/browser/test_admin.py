"""The admin page in a real Chromium: signing in, approving and deleting as a moderator does,
the CSRF and login-limit refusals, the page without JavaScript, on a phone, and axe-core."""

from __future__ import annotations

import pytest

from commentd.services import admin_auth, bans
from commentd.services.audit import Actor
from commentd.storage.database import connection
from commentd.storage.models import Comment, OutboxMessage, Status
from tests.browser.conftest import AXE_JS, SCREENSHOTS, embed, no_page_errors, wait_thread, watch

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

PASSWORD = "correct horse battery"
LONG_WORD = "https://example.org/" + "a-very-long-path-segment" * 8
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target)}));
}"""


@pytest.fixture
def admin(site):
    """``admin(**settings)``: a site that holds every comment, with an admin password set."""

    def make(**settings):
        s = site(**{"moderation.mode": "all", **settings})
        with connection():
            admin_auth.set_password(PASSWORD, Actor("cli", "test"))
        return s

    return make


def sign_in(page, s, password: str = PASSWORD) -> None:
    page.goto(f"{s.api_origin}/admin")
    page.get_by_label("Admin password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def status_of(cid: int) -> Status:
    with connection():
        return Comment.get_by_id(cid).status


def queue_ids(page) -> list[int]:
    return [int(i[1:]) for i in page.locator("li.comment").evaluate_all("(e) => e.map(x => x.id)")]


def no_console_errors(page) -> None:
    """Nothing went wrong in the page: no exception, no CSP violation, no failed load."""
    assert page.errors == [], page.errors


def test_sign_in_approve_and_see_the_comment_on_the_blog(admin, page):
    s = admin()
    held = s.comment(text="Waiting for a moderator", author="Ada")
    assert held["status"] == "pending"
    sign_in(page, s)
    expect(page.get_by_role("heading", name="Moderation queue")).to_be_visible()
    item = page.locator(f"#c{held['id']}")
    expect(item).to_contain_text("Waiting for a moderator")
    item.get_by_role("checkbox").check()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Approved 1 comment(s).")
    expect(page.locator("li.comment")).to_have_count(0)
    no_console_errors(page)

    blog = watch(page.context.new_page())
    blog.goto(s.add_page(body=embed()))
    wait_thread(blog, 1)
    expect(blog.locator("article.cd-comment")).to_contain_text("Waiting for a moderator")
    no_page_errors(blog)


def test_bulk_delete_with_select_all(admin, page):
    s = admin()
    ids = [s.comment(text=f"spammy {n}")["id"] for n in range(3)]
    kept = s.comment(text="a keeper", uri="/other/")["id"]
    sign_in(page, s)
    page.get_by_label("Search text, author or email").fill("spammy")
    page.get_by_role("button", name="Filter").click()
    assert queue_ids(page) == ids
    page.get_by_label("Select all").check()
    expect(page.locator("input[name=ids]:checked")).to_have_count(3)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Deleted 3 comment(s).")
    expect(page.locator("li.comment")).to_have_count(0)
    assert [status_of(cid) for cid in ids] == [Status.DELETED] * 3
    assert status_of(kept) == Status.PENDING
    no_console_errors(page)


def test_cancelling_the_delete_question_deletes_nothing(admin, page):
    s = admin()
    cid = s.comment(text="almost deleted")["id"]
    sign_in(page, s)
    page.locator(f"#c{cid}").get_by_role("checkbox").check()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(f"#c{cid}")).to_be_visible()
    assert status_of(cid) == Status.PENDING


def test_a_form_with_a_wrong_csrf_token_is_refused(admin, page):
    s = admin()
    cid = s.comment(text="hold me")["id"]
    sign_in(page, s)
    page.locator("form.bulk input[name=csrf]").evaluate("(input) => { input.value = 'forged'; }")
    page.locator(f"#c{cid}").get_by_role("checkbox").check()
    with page.expect_response(lambda r: r.url.endswith("/admin/comments")) as answer:
        page.get_by_role("button", name="Approve").click()
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("security token")
    assert status_of(cid) == Status.PENDING


def test_failed_sign_ins_are_limited(admin, page):
    s = admin(**{"admin.login_attempts": 2})
    for _ in range(2):
        sign_in(page, s, "not the password")
        expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    page.goto(f"{s.api_origin}/admin")
    page.get_by_label("Admin password").fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/admin/login")) as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    expect(page.get_by_role("heading", name="Moderation queue")).to_have_count(0)


def test_everything_works_without_javascript(admin, new_context):
    s = admin()
    a = s.comment(text="approve me")["id"]
    b = s.comment(text="pin me later")["id"]
    page = watch(new_context(java_script_enabled=False).new_page())
    sign_in(page, s)
    expect(page.get_by_role("heading", name="Moderation queue")).to_be_visible()
    expect(page.get_by_label("Select all")).to_be_hidden()  # a JS extra, hidden without JS
    page.locator(f"#c{a}").get_by_role("checkbox").check()
    page.locator(f"#c{b}").get_by_role("checkbox").check()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Approved 2 comment(s).")

    page.goto(f"{s.api_origin}/admin/comments/{b}")
    page.get_by_label("Text (Markdown)").fill("edited **without** JS")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved the comment.")
    expect(page.locator(".body strong")).to_have_text("without")
    page.get_by_role("button", name="Pin to the top of the thread").click()
    expect(page.get_by_role("status")).to_have_text("Pinned the comment.")

    page.get_by_role("link", name="Threads").click()
    page.get_by_role("button", name="Lock /post/").click()
    expect(page.get_by_role("status")).to_have_text("Locked the thread.")
    page.get_by_role("link", name="Audit log").click()
    # set_password, login, approve x2, edit, pin, lock
    expect(page.locator("tr.entry")).to_have_count(7)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin password")).to_be_visible()

    thread = s.api.thread().json
    assert [c["id"] for c in thread["comments"]] == [b, a]
    assert thread["thread"]["locked"] is True
    assert page.errors == []


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/threads",
        "/audit",
        "/outbox",
        "/comments/{id}",
        "/bans",
        "/commenter/email?email=someone.with.a.long.address%40subdomain.example.com",
        "/commenter/network?network=127.0.0.1",
    ],
)
def test_a_phone_sized_screen_has_no_horizontal_scroll(admin, new_context, path):
    s = admin()
    cid = s.comment(
        text=f"A long link: {LONG_WORD}\n\n```\n{'code ' * 40}\n```",
        author="Someone With A Rather Long Name Indeed",
        email="someone.with.a.long.address@subdomain.example.com",
        website=LONG_WORD,
        uri="/" + "long-thread-uri/" * 6,
    )["id"]
    with connection():
        OutboxMessage.create(
            kind="webhook",
            recipient=LONG_WORD,
            payload="{}",
            status="failed",
            attempts=10,
            last_error="ConnectionRefusedError: " + "x" * 300,
        )
        bans.add("word", LONG_WORD, Actor("cli", "test"), reason="r" * 200)
    context = new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = watch(context.new_page())
    sign_in(page, s)
    page.goto(f"{s.api_origin}/admin{path.format(id=cid)}")
    expect(page.locator("h1")).to_be_visible()
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = "-".join(path.split("?")[0].strip("/").split("/")[:2]) or "queue"
    page.screenshot(path=str(SCREENSHOTS / f"admin-phone-{name}.png"), full_page=True)
    assert widths[0] <= widths[1], widths
    assert page.errors == []


@pytest.mark.parametrize("signed", [False, True])
def test_the_admin_page_has_no_axe_violations(admin, page, signed):
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core missing at {AXE_JS}: run npm ci --prefix tests/browser")
    s = admin()
    s.comment(text="A *held* comment with [a link](https://example.org)", author="Ada")
    s.comment(text="Another one", email="bob@example.com", website="https://bob.example")
    if signed:
        sign_in(page, s)
        expect(page.get_by_role("heading", name="Moderation queue")).to_be_visible()
    else:
        page.goto(f"{s.api_origin}/admin")
    # the CSP refuses inline scripts: axe comes in through the DevTools protocol instead
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    violations = page.evaluate(AXE_RUN)
    assert violations == [], violations


def test_the_content_security_policy_blocks_inline_script(admin, page):
    s = admin()
    held = s.comment(text="<script>window.pwned = 1</script> <b>bold</b>", author="<i>x</i>")
    sign_in(page, s)
    expect(page.locator(f"#c{held['id']} .author")).to_have_text("<i>x</i>")
    assert page.evaluate("() => window.pwned") is None
    expect(page.locator(f"#c{held['id']} .body b")).to_have_count(0)
