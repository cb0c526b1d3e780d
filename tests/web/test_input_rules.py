"""What readers may put in names, uris and websites, and which pages may press the buttons of
mailed links: the smaller findings of the outside test (issue 16)."""

from __future__ import annotations

import pytest

from commentd.services.validation import MAX_WEBSITE
from commentd.storage.database import connection
from commentd.storage.models import Comment, Status
from tests.web.test_links import held, token  # noqa: F401 - the fixture is used by name

# -- bidirectional and invisible formatting -----------------------------------------------------

FORMATTING = {
    "right-to-left override": "admin\u202enimda",
    "left-to-right embedding": "\u202aAda",
    "first strong isolate": "Ada\u2068x\u2069",
    "zero-width space": "ad\u200bmin",
    "right-to-left mark": "Ada\u200f",
    "word joiner": "ad\u2060min",
    "byte order mark": "\ufeffAda",
    "joiner after ASCII": "ad\u200dmin",
    "arabic letter mark": "Ada\u061c",
}


@pytest.mark.parametrize("field", ["author", "email", "uri"])
@pytest.mark.parametrize("name", FORMATTING)
def test_formatting_characters_are_refused_in_names_emails_and_uris(client, field, name):
    value = FORMATTING[name]
    if field == "email":
        value = value.replace("Ada", "ada") + "@example.com"
    uri = f"/post/{value}" if field == "uri" else "/post/"
    fields = {} if field == "uri" else {field: value}
    res = client.post_comment(uri, text="hello", **fields)
    assert res.status == 400
    assert res.json["error"] == {
        "code": "invalid_value",
        "field": field,
        "message": f"{field} must not contain bidirectional or invisible formatting characters.",
    }
    assert client.thread("/post/").json["comments"] == []


@pytest.mark.parametrize(
    "author",
    ["👩\u200d💻 Ada", "نام\u200cخانوادگی", "אדה לאבלייס", "Ada Lovelace"],  # noqa: RUF001
    ids=["emoji joiner", "persian non-joiner", "hebrew", "latin"],
)
def test_names_that_need_joiners_or_another_script_are_kept(client, author):
    res = client.post_comment(text="hello", author=author)
    assert res.status == 201
    assert client.thread().json["comments"][0]["author"] == author


def test_formatting_characters_stay_in_comment_text(client):
    text = "English \u202bעברית\u202c and \u2067عربي\u2069"  # noqa: RUF001
    res = client.post_comment(text=text)
    assert res.status == 201
    assert client.thread().json["comments"][0]["html"] == f"<p>{text}</p>\n"


# -- websites a browser can open --------------------------------------------------------------


@pytest.mark.parametrize(
    "website",
    [
        "data:text/html,<script>alert(1)</script>",
        "javascript:alert(1)",
        "https://example.com:99999/",
        "https://example.com:0/",
        "https://example.com:http/",
        "https://user:pw@example.com/",
        "https://exa mple.com/",
        "https://-example.com/",
        "https://example..com/",
        "https://example.123/",
        "https://300.1.1.1/",
        "https://[::1]/",
        "ftp://example.com/",
    ],
)
def test_websites_a_browser_could_not_open_are_refused(client, website):
    res = client.post_comment(text="hello", website=website)
    assert res.status == 400
    assert (res.error_code, res.json["error"]["field"]) == ("invalid_url", "website")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("ada.example", "https://ada.example"),
        ("HTTP://ada.example:8080/p?q=1#f", "HTTP://ada.example:8080/p?q=1#f"),
        ("bücher.example/ä", "https://bücher.example/ä"),
        ("http://192.0.2.7:65535/", "http://192.0.2.7:65535/"),
        ("localhost", "https://localhost"),
    ],
)
def test_websites_a_browser_opens_are_kept(client, sent, stored):
    res = client.post_comment(text="hello", website=sent)
    assert res.status == 201
    assert client.thread().json["comments"][0]["website"] == stored


def test_the_website_limit_is_on_what_was_sent_and_the_stored_value_fits(client):
    host = ".".join(["a" * 63] * 7) + ".example"  # 456 characters
    sent = host + "/" + "p" * (MAX_WEBSITE - len("https://") - len(host) - 1)
    assert len(sent) == 504
    res = client.post_comment(text="hello", website=sent)
    assert res.status == 201
    stored = client.thread().json["comments"][0]["website"]
    assert stored == "https://" + sent
    assert len(stored) == MAX_WEBSITE
    res = client.post_comment(text="again", website=sent + "p")
    assert (res.status, res.error_code) == (400, "too_long")


# -- one rule for cross-site form posts -------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/"}, False),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "none"}, True),
        ({}, True),  # a mail client's one-click post, curl
    ],
)
def test_mailed_link_buttons_take_posts_only_from_our_own_pages(held, headers, allowed):  # noqa: F811
    client, _config, keys, cid = held
    res = client.post(f"/moderate/{token(keys, 'approve', cid)}", body=b"", headers=headers)
    with connection():
        status = Comment.get_by_id(cid).status
    if allowed:
        assert res.status == 200
        assert status == Status.APPROVED
    else:
        assert res.status == 403
        assert res.header("content-type").startswith("text/html")
        assert "only from this server" in res.raw.decode()
        assert status == Status.PENDING


def test_the_unsubscribe_button_follows_the_same_rule(held):  # noqa: F811
    from commentd.services.links import LinkService
    from commentd.services.site import open_site

    client, config, keys, cid = held
    site = open_site(config)
    with connection():
        thread_id = Comment.get_by_id(cid).thread_id
        unsubscribe = LinkService(config, keys, site.moderation()).unsubscribe_token(
            thread_id, "pat@example.com"
        )
    path = f"/unsubscribe/{unsubscribe}"
    assert client.post(path, body=b"", headers={"Sec-Fetch-Site": "cross-site"}).status == 403
    assert client.post(path, body=b"List-Unsubscribe=One-Click").status == 200
