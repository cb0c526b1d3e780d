"""commentd/openapi.json and the server agree: every status a request gets is documented for
its operation, the spec's examples are accepted, and the string patterns of the schemas accept
exactly what the server's validation accepts (what Schemathesis checks in CI, as unit tests:
see tests/contract/run_schemathesis.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commentd.errors import ValidationError
from commentd.services import admin_auth, bans, validation, webmention
from commentd.services.audit import Actor
from commentd.storage.database import connection

OPENAPI = Path(__file__).resolve().parents[2] / "commentd" / "openapi.json"
SPEC = json.loads(OPENAPI.read_text(encoding="utf-8"))
SCHEMAS = SPEC["components"]["schemas"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def query_schema(path: str, name: str) -> dict[str, Any]:
    parameters = SPEC["paths"][path]["get"]["parameters"]
    return resolved(next(p for p in parameters if p.get("name") == name)["schema"])


def documented(method: str, path: str) -> set[int]:
    return {int(status) for status in SPEC["paths"][path][method.lower()]["responses"]}


# -- statuses ---------------------------------------------------------------------------------

# (method, request path, the operation's path in the spec): requests Schemathesis sent whose
# status the spec did not list (issue 16).
UNDOCUMENTED_BEFORE = [
    ("OPTIONS", "/api/comments/%C2%84", "/api/comments/{id}"),
    ("OPTIONS", "/api/comments/%C2%84/vote", "/api/comments/{id}/vote"),
    ("GET", "/moderate/%C2%84", "/moderate/{token}"),
    ("POST", "/moderate/%C2%84", "/moderate/{token}"),
    ("GET", "/moderate/forged.token", "/moderate/{token}"),
    ("GET", "/unsubscribe/%C2%84", "/unsubscribe/{token}"),
    ("POST", "/unsubscribe/%C2%84", "/unsubscribe/{token}"),
    ("POST", "/unsubscribe/forged.token", "/unsubscribe/{token}"),
    ("GET", "/admin/comments/%C2%84", "/admin/comments/{id}"),
    ("GET", "/admin/comments/1", "/admin/comments/{id}"),
    ("GET", "/admin/static/%C2%84", "/admin/static/{filename}"),
    ("GET", "/admin/static/missing.css", "/admin/static/{filename}"),
    ("POST", "/admin/outbox/0.5/retry", "/admin/outbox/{message_id}/retry"),
    ("POST", "/admin/outbox/1/retry", "/admin/outbox/{message_id}/retry"),
    ("POST", "/admin/comments", "/admin/comments"),
    ("POST", "/admin/comments/1", "/admin/comments/{id}"),
    ("POST", "/admin/comments/1/pin", "/admin/comments/{id}/pin"),
    ("POST", "/admin/threads/lock", "/admin/threads/lock"),
    ("POST", "/admin/logout", "/admin/logout"),
    ("POST", "/admin/login", "/admin/login"),
    ("GET", "/admin/bans", "/admin/bans"),
    ("POST", "/admin/bans", "/admin/bans"),
    ("POST", "/admin/bans/1/remove", "/admin/bans/{ban_id}/remove"),
    ("POST", "/admin/comments/1/ban", "/admin/comments/{id}/ban"),
    ("GET", "/admin/commenter/email?email=a%40example.com", "/admin/commenter/email"),
    ("GET", "/admin/commenter/network?network=%C2%84", "/admin/commenter/network"),
]


@pytest.mark.parametrize("with_password", [False, True], ids=["no-password", "password-set"])
@pytest.mark.parametrize(("method", "path", "operation"), UNDOCUMENTED_BEFORE)
def test_every_status_is_documented_for_its_operation(
    client, method, path, operation, with_password
):
    if with_password:
        with connection():
            admin_auth.set_password("contract-password", Actor("cli", "test"))
    body = "csrf=x&ids=1&action=approve&thread=1&text=x" if method == "POST" else None
    res = client.request(method, path, body=body, headers=FORM if body else None)
    assert res.status in documented(method, operation), (res.status, res.raw[:200])


def test_signed_out_admin_posts_are_401_as_documented(client):
    res = client.request("POST", "/admin/comments", body="ids=1", headers=FORM)
    assert res.status == 401
    assert 401 in documented("POST", "/admin/comments")


def test_signing_in_before_a_password_is_set_is_refused(client):
    """It was a 200 (the spec says 303 or an error): the setup page now comes with a 401."""
    res = client.request("POST", "/admin/login", body="password=x", headers=FORM)
    assert res.status == 401
    assert "commentd admin set-password" in res.raw.decode()
    assert "commentd_admin=" not in (res.header("set-cookie") or "")


# -- query parameters -------------------------------------------------------------------------


def thread_example() -> dict[str, Any]:
    ok = SPEC["paths"]["/api/comments"]["get"]["responses"]["200"]
    return ok["content"]["application/json"]["example"]


def test_the_example_cursor_is_one_the_server_accepts(client):
    page = thread_example()
    res = client.thread(page["thread"]["uri"], sort=page["sort"], cursor=page["cursor"])
    assert res.status == 200, res.raw


@pytest.mark.parametrize("name", ["sort", "limit"])
def test_an_empty_sort_or_limit_is_refused_like_any_bad_value(client, name):
    res = client.thread("/post/", **{name: ""})
    assert res.status == 400
    assert (res.error_code, res.json["error"]["field"]) == ("invalid_value", name)
    # absent is the default, as the spec says
    assert client.thread("/post/").status == 200


def test_sort_and_limit_schemas_refuse_empty():
    params = {p.get("name"): p for p in SPEC["paths"]["/api/comments"]["get"]["parameters"]}
    assert "" not in params["sort"]["schema"]["enum"]
    assert params["limit"]["schema"]["type"] == "integer"


# -- string patterns against the server's validation ------------------------------------------


def pattern(schema: dict[str, Any]) -> re.Pattern:
    """A schema's ECMA-262 pattern for Python: ``$`` is the end, not before a final newline."""
    source = schema["pattern"]
    assert source.startswith("^")
    assert source.endswith("$")
    return re.compile(source[:-1] + r"\Z")


def accepted(check, value: str) -> bool:
    """Whether the server's rule takes ``value`` (lengths are maxLength's: not tested here)."""
    try:
        check(value)
    except ValidationError as exc:
        refused = exc.code
    else:
        return True
    assert refused != "too_long"
    return False


# Strings made of what the rules are about: white space of every kind, controls, ``@`` and
# ``.`` (for emails) and ordinary letters.
TRICKY = st.text(
    st.sampled_from(
        [
            *("a", "é", "@", ".", " ", "\t", "\n", "\r", "\x0b", "\x1c", "\x1f", "\x7f"),
            *("\x84", "\x85", "\x9f", "\xa0", "\u2003", "\u2028", "\u3000", "\ufeff", "\x00"),
            # bidirectional and invisible formatting; joiners, allowed after visible non-ASCII
            *("\u202e", "\u2066", "\u200b", "\u200e", "\u200c", "\u200d", "\u061c", "👩"),
        ]
    ),
    max_size=12,
)
NEW_COMMENT = SCHEMAS["NewComment"]["properties"]
RULES = {
    "uri": (query_schema("/api/comments", "uri"), validation.uri),
    "counts uri": (resolved(query_schema("/api/counts", "uri")["items"]), validation.uri),
    "text": (NEW_COMMENT["text"], lambda v: validation.text(v, max_length=10000)),
    "author": (NEW_COMMENT["author"], lambda v: validation.author(v, required=False)),
    "title": (NEW_COMMENT["title"], validation.title),
    "email": (NEW_COMMENT["email"], lambda v: validation.email(v, required=False)),
    "voter": (SCHEMAS["ReaderId"], validation.reader_id),
    # with notify true, the email is required
    "notify email": (
        SCHEMAS["NewComment"].get("then", {}).get("properties", {}).get("email", {}),
        lambda v: validation.email(v, required=True),
    ),
}


@pytest.mark.parametrize("field", sorted(RULES))
def test_the_schema_pattern_accepts_exactly_what_the_server_accepts(field):
    schema, check = RULES[field]
    compiled = pattern(schema)

    @settings(max_examples=400, deadline=None)
    @given(TRICKY)
    @example("")
    @example("\x85/blog/")
    @example(" a ")
    @example("a\x84b")
    def agree(value: str) -> None:
        assert (compiled.search(value) is not None) == accepted(check, value), repr(value)

    agree()


def test_counts_uris_use_the_uri_schema():
    """``POST /api/counts {"uris": [""]}`` and C1 controls were schema-valid and refused."""
    uri = query_schema("/api/comments", "uri")
    branches = SCHEMAS["CountsRequest"]["oneOf"]
    assert resolved(branches[0]["items"]) == uri
    assert resolved(branches[1]["properties"]["uris"]["items"]) == uri
    compiled = pattern(uri)
    assert not compiled.search("")
    assert not compiled.search("/a\x84b/")


def test_notify_without_an_email_is_refused_as_the_schema_says(client):
    schema = SCHEMAS["NewComment"]
    assert schema["if"] == {"required": ["notify"], "properties": {"notify": {"const": True}}}
    assert schema["then"]["required"] == ["email"]
    (thread,) = schema["allOf"]
    assert thread["if"] == {
        "required": ["notify_thread"],
        "properties": {"notify_thread": {"const": True}},
    }
    assert thread["then"] == schema["then"]
    for wish in ("notify", "notify_thread"):
        for email in (None, " "):
            res = client.post_comment("/post/", **{wish: True}, email=email)
            assert (res.status, res.error_code) == (400, "email_required")


# URL-shaped strings: schemes, hosts good and bad, ports in and out of range, paths.
URLISH = st.lists(
    st.sampled_from(
        [
            *("https://", "http://", "HTTP://", "data:", "javascript:", "//", "a", "b-c", "ă"),
            *("é", ".", "..", "-", "1", "255", "256", "0", ":", ":8080", ":0", ":65535"),
            *(":65536", ":99999", "/", "/p?q#f", "?", "#", "@", "u:p@", "[::1]", " ", "\t"),
            *("\u3000", "\x85", "\x00", "\u202e", "xn--bcher-kva", "example", ".example"),
        ]
    ),
    max_size=8,
).map("".join)


def test_the_website_pattern_accepts_exactly_what_the_server_accepts():
    compiled = pattern(NEW_COMMENT["website"])
    assert NEW_COMMENT["website"]["maxLength"] == validation.MAX_WEBSITE_SENT

    @settings(max_examples=1500, deadline=None)
    @given(URLISH | TRICKY)
    @example("data:text/html,<script>")
    @example("https://a.example:99999")
    @example("ada.example")
    @example(" https://ă.example:8080/x ")
    def agree(value: str) -> None:
        taken = accepted(validation.website, value)
        assert (compiled.search(value) is not None) == taken, repr(value)

    agree()


@pytest.mark.parametrize("sent", ["bücher.example/ä", "hTtp://ú.B.I?ñ", "ada.example"])
def test_every_website_the_server_keeps_fits_the_response_schema(client, sent):
    """A website with non-ASCII letters is an IRI: the response schema's format must say so."""
    import jsonschema_rs

    schema = SCHEMAS["CommentBase"]["properties"]["website"]
    check = jsonschema_rs.validator_for(schema, validate_formats=True)
    res = client.post_comment(text="hi", website=sent)
    assert res.status == 201
    assert check.is_valid(res.json["comment"]["website"]), res.json["comment"]["website"]


# -- the admin page's ban values and commenter view ---------------------------------------------

BAN_FORM = SPEC["paths"]["/admin/bans"]["post"]["requestBody"]["content"][
    "application/x-www-form-urlencoded"
]["schema"]["oneOf"]
BAN_VALUES = {
    branch["properties"]["kind"]["const"]: branch["properties"]["value"] for branch in BAN_FORM
}
# Address-shaped strings: real addresses, prefixes in and out of range, the forms Python's
# ipaddress takes that commentd does not (zone ids, netmasks, leading zeros in a prefix).
IPISH = (
    st.ip_addresses().map(str)
    | st.ip_addresses().map(lambda ip: ip.exploded.upper())
    | st.lists(
        st.sampled_from(
            [
                *("1", "0", "00", "01", "255", "256", "ffff", "FFFF", "12345", "g", ".", ":"),
                *("::", "/", "/0", "/8", "/24", "/32", "/33", "/48", "/128", "/129", "/024"),
                *("%eth0", "/255.255.255.0", " ", "\u3000", "\n", "1.2.3.4", "::ffff:"),
            ]
        ),
        max_size=10,
    ).map("".join)
)


def test_the_ban_forms_patterns_are_the_services():
    assert set(BAN_VALUES) == set(bans.KINDS)
    for kind, schema in BAN_VALUES.items():
        assert schema["pattern"] == bans.PATTERNS[kind]
        assert schema["maxLength"] == bans.MAX_VALUE
    email = query_schema("/admin/commenter/email", "email")
    assert (email["pattern"], email["maxLength"]) == (bans.EMAIL_PATTERN, bans.MAX_VALUE)
    assert query_schema("/admin/commenter/network", "network")["pattern"] == bans.ADDRESS_PATTERN


@pytest.mark.parametrize("kind", bans.KINDS)
def test_each_ban_value_pattern_accepts_exactly_what_a_ban_takes(kind):
    compiled = pattern(BAN_VALUES[kind])

    @settings(max_examples=600, deadline=None)
    @given(IPISH | TRICKY)
    @example("fe80::1%eth0")
    @example("10.0.0.0/255.0.0.0")
    @example("10.0.0.0/08")
    @example("::ffff:1.2.3.4/128")
    @example("1:2:3:4:5:6::1.2.3.4")
    @example(" @spam.example ")
    @example("a b@example.com")
    def agree(value: str) -> None:
        taken = accepted(lambda v: bans.normalize(kind, v), value)
        assert (compiled.search(value) is not None) == taken, repr(value)

    agree()


def test_the_network_query_pattern_accepts_exactly_what_the_view_takes():
    compiled = pattern(query_schema("/admin/commenter/network", "network"))

    @settings(max_examples=600, deadline=None)
    @given(IPISH | TRICKY)
    @example("fe80::1%eth0")
    @example("203.0.113.0/24")
    def agree(value: str) -> None:
        taken = accepted(lambda v: bans.address(v), value)
        assert (compiled.search(value) is not None) == taken, repr(value)

    agree()


URL_CHARACTERS = st.text(
    st.sampled_from(
        [*"hHtTpPsS:/?#.-_~%!$&'()*+,;=@[]\\ 059aZé", "\t", "\n", "\x00", "\x7f", "\u200b"]
    ),
    max_size=24,
)


@pytest.mark.parametrize("field", ["source", "target"])
def test_the_webmention_url_pattern_accepts_exactly_what_the_endpoint_takes(field):
    schema = SCHEMAS["WebmentionRequest"]["properties"][field]
    assert (schema["pattern"], schema["maxLength"]) == (webmention.URL_PATTERN, webmention.MAX_URL)
    compiled = pattern(schema)

    def check(value: str) -> None:
        webmention._url(value, field, code=f"invalid_{field}")

    @settings(max_examples=600, deadline=None)
    @given(st.one_of(URL_CHARACTERS, st.builds("https://a.b{}".format, URL_CHARACTERS)))
    @example("https://blog.example.com:65535/p?q#f")
    @example("https://blog.example.com:65536/")
    @example("HTTP://A.B")
    @example("https://a.b/\n")
    @example(" https://a.b/")
    def agree(value: str) -> None:
        try:
            check(value)
        except ValidationError:
            taken = False
        else:
            taken = True
        assert (compiled.search(value) is not None) == taken, repr(value)

    agree()
