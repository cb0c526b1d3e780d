"""docs/api.md and commentd/openapi.json stay in step with the app's routes, error codes and
response shapes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commentd.storage.models import Comment
from commentd.web.scope import BOTTLE_CODES
from commentd.web.server import WAITRESS_CODES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "commentd"
API_MD = ROOT / "docs" / "api.md"
OPENAPI = PACKAGE / "openapi.json"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Routes that serve files, not JSON: documented in api.md only.
FILE_ROUTES = {
    ("GET", "/"),
    ("GET", "/static/{filename}"),
    ("GET", "/js/{filename}"),
    ("GET", "/js/i18n/{filename}"),
}
# Tags of the operations that answer HTML pages, errors included.
HTML_TAGS = {"admin", "links", "html"}
# Codes that never reach an HTTP client (raised at start-up and by the CLI).
# Raised by the CLI only: never in an HTTP response, so not in the OpenAPI error schema.
NOT_HTTP_CODES = {
    "config_error",
    "unknown_format",
    "import_failed",
    "invalid_rules",
    "no_site_url",
    "invalid_file",
    "invalid_xml",
    "unsafe_xml",
    "file_exists",
    "not_sqlite",
    "backup_failed",
    # a fetch's failures: in a Webmention's status and the CLI's messages, not as answers
    "fetch_bad_url",
    "fetch_failed",
    "fetch_private_address",
    "fetch_timeout",
    "fetch_too_large",
    "fetch_too_many_redirects",
    "fetch_unresolved",
    # commentd webmention send
    "not_own_page",
    "page_unavailable",
    # a remote actor's or object's failures: inside 401 signature_key_unavailable's message
    "remote_bad_url",
    "remote_gone",
    "remote_invalid",
    "remote_unavailable",
}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def api_md() -> str:
    return API_MD.read_text(encoding="utf-8")


def doc_path(rule: str) -> str:
    """A bottle rule as a documented path: ``<comment_id:re:...>`` becomes ``{id}``."""

    def name(match: re.Match) -> str:
        return "{id}" if match[1] == "comment_id" else "{" + match[1] + "}"

    return re.sub(r"<(\w+)(?::[^>]*)?>", name, rule)


def app_routes(app) -> set[tuple[str, str]]:
    return {(route.method, doc_path(route.rule)) for route in app.routes}


def openapi_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def md_headings(text: str) -> set[tuple[str, str]]:
    """``### METHOD /path`` headings of api.md."""
    pattern = r"^### (GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (/\S*)[ \t]*$"
    return set(re.findall(pattern, text, flags=re.MULTILINE))


def md_section(text: str, heading: str) -> str:
    """The text under ``heading`` (a full heading line) up to the next heading as high."""
    level = len(heading.split(" ", 1)[0])
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(rf"^#{{1,{level}}} ", text[start:], flags=re.MULTILINE)
    return text[start : start + following.start()] if following else text[start:]


def source_error_codes() -> set[str]:
    """Every error code the package can produce, read from its source."""
    codes: set[str] = set()
    for source in PACKAGE.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        codes.update(re.findall(r"\bcode=\"([a-z0-9_]+)\"", text))
        codes.update(re.findall(r"\berror_body\(\s*\"([a-z0-9_]+)\"", text))
    errors_py = (PACKAGE / "errors.py").read_text(encoding="utf-8")
    codes.update(re.findall(r"^\s+code = \"([a-z0-9_]+)\"", errors_py, flags=re.MULTILINE))
    codes.update(code for code, _ in BOTTLE_CODES.values())
    codes.update(code for code, _ in WAITRESS_CODES.values())
    return codes


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/components/"), f"{ref} does not point inside components"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref} does not resolve"
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def properties(doc: dict[str, Any], name: str) -> set[str]:
    """The member names a schema allows, following ``$ref`` and ``allOf``."""
    schema = resolve(doc, f"#/components/schemas/{name}")
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names |= properties(doc, part["$ref"].rsplit("/", 1)[1])
    return names


# -- routes ---------------------------------------------------------------------------------


def test_every_route_is_in_openapi(app, openapi):
    documented = openapi_operations(openapi)
    missing = {
        route
        for route in app_routes(app)
        if route[0] != "OPTIONS" and route not in FILE_ROUTES and route not in documented
    }
    assert not missing, f"routes missing from commentd/openapi.json: {sorted(missing)}"


def test_every_preflight_route_is_in_openapi(app, openapi):
    documented = openapi_operations(openapi)
    missing = {route for route in app_routes(app) if route[0] == "OPTIONS"} - documented
    assert not missing, f"preflights missing from commentd/openapi.json: {sorted(missing)}"


def test_every_route_is_in_api_md(app, api_md):
    headings = md_headings(api_md)
    missing = {r for r in app_routes(app) if r[0] != "OPTIONS" and r not in headings}
    assert not missing, f"routes without a '### METHOD /path' heading in api.md: {sorted(missing)}"
    preflights = md_section(api_md, "### OPTIONS (CORS preflight)")
    for _, path in sorted(r for r in app_routes(app) if r[0] == "OPTIONS"):
        assert f"`OPTIONS {path}`" in preflights


def test_openapi_documents_no_route_the_app_lacks(app, openapi):
    extra = openapi_operations(openapi) - app_routes(app)
    assert not extra, f"documented in openapi.json but not routed: {sorted(extra)}"


def test_api_md_documents_no_route_the_app_lacks(app, api_md):
    extra = md_headings(api_md) - app_routes(app)
    assert not extra, f"documented in api.md but not routed: {sorted(extra)}"


# -- error codes ----------------------------------------------------------------------------


def test_the_code_scan_finds_codes():
    codes = source_error_codes()
    # one of each kind the scan looks for, so a broken regex cannot pass silently
    assert {"comment_not_found", "invalid_token", "unavailable", "headers_too_large"} <= codes


def test_every_error_code_has_a_row_in_api_md(api_md):
    table = md_section(api_md, "### Error codes")
    rows = set(re.findall(r"^\| `([a-z0-9_<>]+)` \|", table, flags=re.MULTILINE))
    missing = source_error_codes() - rows
    assert not missing, f"error codes missing from the table in api.md: {sorted(missing)}"
    stale = rows - source_error_codes() - {"http_<status>"}
    assert not stale, f"api.md lists codes the code cannot produce: {sorted(stale)}"


def test_openapi_error_schema_lists_every_http_error_code(openapi):
    code = openapi["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
    enums = [set(branch["enum"]) for branch in code["anyOf"] if "enum" in branch]
    assert enums == [source_error_codes() - NOT_HTTP_CODES]


def test_every_code_named_in_an_endpoint_table_exists(api_md):
    endpoints = md_section(api_md, "## Endpoints")
    named = set(re.findall(r"^\| (?:\d{3}|other) \| `([a-z0-9_<>]+)` \|", endpoints, re.MULTILINE))
    assert named
    assert named <= source_error_codes() | {"http_403"}


# -- the OpenAPI document itself ------------------------------------------------------------


def test_openapi_is_3_1_and_has_the_named_schemas(openapi):
    assert openapi["openapi"].startswith("3.1")
    schemas = openapi["components"]["schemas"]
    for name in ("Comment", "CommentNode", "OwnedComment", "ThreadPage", "Error"):
        assert name in schemas
    bearer = openapi["components"]["securitySchemes"]["editToken"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")


def test_every_ref_resolves_inside_components(openapi):
    found = list(refs(openapi))
    assert found
    for ref in found:
        resolve(openapi, ref)


def test_every_error_response_uses_the_error_schema(openapi):
    """JSON errors have the one Error shape; only the HTML pages (the admin's and the mailed
    links') may answer an error as an HTML page instead."""
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = resolve(openapi, response["$ref"])
                if int(status) < 400:
                    continue
                content = response["content"]
                if "application/json" in content:
                    schema = content["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
                    assert set(content) <= {"application/json", "text/html"}, (method, path)
                else:
                    assert set(content) == {"text/html"}, (method, path, status)
                if "text/html" in content:
                    assert set(operation["tags"]) & HTML_TAGS, (method, path, status)


def test_openapi_file_is_tidy():
    text = OPENAPI.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_json_examples_in_api_md_parse(api_md):
    blocks = re.findall(r"^```json\n(.*?)^```$", api_md, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) > 10
    for block in blocks:
        json.loads(block)


# -- real responses match the documented shapes ---------------------------------------------


def ok(res) -> Any:
    assert res.status < 300, (res.status, res.raw[:300])
    return res.json


def test_real_responses_have_exactly_the_documented_members(client, openapi):
    created = ok(
        client.post(
            "/api/comments",
            {"text": "*hi*", "author": "Ada", "email": "ada@example.com", "website": "ada.example"},
            query={"uri": "/docs/"},
        )
    )
    assert set(created) == properties(openapi, "CreatedComment")
    assert set(created["comment"]) == properties(openapi, "OwnedComment")
    cid, token = created["comment"]["id"], created["token"]
    ok(
        client.request(
            "POST",
            "/api/comments",
            json_body={"text": "reply", "parent": cid},
            query={"uri": "/docs/"},
        )
    )

    page = ok(client.request("GET", "/api/comments", query={"uri": "/docs/"}))
    assert set(page) == properties(openapi, "ThreadPage")
    thread_schema = openapi["components"]["schemas"]["ThreadPage"]["properties"]["thread"]
    assert set(page["thread"]) == set(thread_schema["properties"])
    assert set(page["comments"][0]) == properties(openapi, "CommentNode")
    assert set(page["comments"][0]["replies"][0]) == properties(openapi, "CommentNode")

    public = ok(client.request("GET", f"/api/comments/{cid}"))
    assert set(public["comment"]) == properties(openapi, "Comment")
    owned = ok(client.request("GET", f"/api/comments/{cid}", token=token))
    assert set(owned["comment"]) == properties(openapi, "OwnedComment")
    edited = ok(
        client.request("PUT", f"/api/comments/{cid}", json_body={"text": "edited"}, token=token)
    )
    assert set(edited["comment"]) == properties(openapi, "OwnedComment")

    Comment.update(voter="someone-else").where(Comment.id == cid).execute()
    voted = ok(client.request("POST", f"/api/comments/{cid}/vote", json_body={"value": 1}))
    assert set(voted) == properties(openapi, "VoteResult")
    deleted = ok(client.request("DELETE", f"/api/comments/{cid}", token=token))
    assert set(deleted["comment"]) == properties(openapi, "Comment")

    counts = ok(client.request("GET", "/api/counts", query={"uri": "/docs/"}))
    assert set(counts) == properties(openapi, "Counts")
    assert set(ok(client.request("POST", "/api/preview", json_body={"text": "x"}))) == properties(
        openapi, "Preview"
    )
    assert set(ok(client.request("GET", "/api/config"))) == properties(openapi, "ClientConfig")
    assert set(ok(client.request("GET", "/health"))) == properties(openapi, "Health")
    assert set(ok(client.request("GET", "/api/challenge"))) == properties(openapi, "Challenge")

    res = client.post("/api/preview", {"text": ""})
    assert res.status == 400
    error = res.json
    assert set(error) == properties(openapi, "Error")
    error_schema = openapi["components"]["schemas"]["Error"]["properties"]["error"]
    # reason and challenge come with challenge_required only (tests/web/test_pow.py: all five)
    assert set(error["error"]) == set(error_schema["properties"]) - {"reason", "challenge"}
