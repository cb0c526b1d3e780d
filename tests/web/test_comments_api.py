"""The comment API end to end over real HTTP: what a reader's browser sees."""

from __future__ import annotations

import re
import time

import pytest

from commentd.storage.models import Comment, Thread


def ids(nodes):
    return [node["id"] for node in nodes]


def test_unknown_uri_is_an_empty_thread(client):
    res = client.thread("/never-commented/")
    assert res.status == 200
    assert res.json == {
        "thread": {"uri": "/never-commented/", "title": None, "total": 0, "locked": False},
        "sort": "oldest",
        "comments": [],
        "cursor": None,
        "reactions": {kind: {"count": 0, "people": []} for kind in ("like", "repost", "bookmark")},
    }


def test_post_creates_thread_and_returns_comment_and_token(client):
    res = client.post_comment(
        "/hello/",
        text="Nice *post*",
        author="Ada",
        email="ada@example.com",
        website="https://ada.example",
        title="Hello",
    )
    assert res.status == 201
    comment = res.json["comment"]
    assert comment["author"] == "Ada"
    assert comment["website"] == "https://ada.example"
    assert comment["html"] == "<p>Nice <em>post</em></p>\n"
    assert comment["text"] == "Nice *post*"
    assert comment["status"] == "approved"
    assert comment["created"].endswith("Z")
    assert res.json["token"]
    assert "email" not in comment
    assert "remote_addr" not in comment
    assert "ada@example.com" not in res.raw.decode()

    thread = client.thread("/hello/").json
    assert thread["thread"] == {"uri": "/hello/", "title": "Hello", "total": 1, "locked": False}
    assert ids(thread["comments"]) == [comment["id"]]
    assert "text" not in thread["comments"][0]


def test_email_and_address_never_leave_the_server(client):
    client.post_comment("/p/", text="hi", email="secret@example.com", author="S")
    for res in (client.thread("/p/"), client.get("/api/comments/1")):
        body = res.raw.decode()
        assert "secret@example.com" not in body
        assert "127.0.0" not in body


def test_avatar_is_stable_per_email_and_not_the_email_hash(client):
    import hashlib

    first = client.post_comment(text="a", email="Same@Example.com").json["comment"]["avatar"]
    second = client.post_comment(text="b", email="same@example.com").json["comment"]["avatar"]
    other = client.post_comment(text="c", email="other@example.com").json["comment"]["avatar"]
    assert first == second != other
    for digest in (hashlib.md5, hashlib.sha256):
        assert digest(b"same@example.com").hexdigest()[:32] != first


def test_replies_nest_under_their_parent(client):
    root = client.post_comment(text="root").json["comment"]["id"]
    reply = client.post_comment(text="reply", parent=root).json["comment"]["id"]
    nested = client.post_comment(text="nested", parent=reply).json["comment"]["id"]
    other = client.post_comment(text="other").json["comment"]["id"]
    tree = client.thread().json
    assert tree["thread"]["total"] == 4
    assert ids(tree["comments"]) == [root, other]
    assert ids(tree["comments"][0]["replies"]) == [reply]
    assert ids(tree["comments"][0]["replies"][0]["replies"]) == [nested]
    assert tree["comments"][0]["replies"][0]["parent"] == root


def test_replies_beyond_max_depth_attach_at_the_deepest_level(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"comments.max_depth": 3})))
    chain = [client.post_comment(text="level 1").json["comment"]["id"]]
    for level in range(2, 6):
        res = client.post_comment(text=f"level {level}", parent=chain[-1])
        chain.append(res.json["comment"]["id"])
    root = client.thread().json["comments"][0]
    level2 = root["replies"][0]
    assert level2["id"] == chain[1]
    # levels 3, 4 and 5 are all shown at level 3, in the order they were written
    assert ids(level2["replies"]) == chain[2:]
    assert all(node["replies"] == [] for node in level2["replies"])
    assert level2["replies"][2]["parent"] == chain[3]  # the true parent is kept


def test_deleted_comment_with_replies_stays_as_placeholder(client):
    root = client.post_comment(text="root", author="Ann").json
    client.post_comment(text="reply", parent=root["comment"]["id"])
    lonely = client.post_comment(text="lonely").json
    assert (
        client.delete(f"/api/comments/{root['comment']['id']}", token=root["token"]).status == 200
    )
    assert (
        client.delete(f"/api/comments/{lonely['comment']['id']}", token=lonely["token"]).status
        == 200
    )
    tree = client.thread().json
    assert tree["thread"]["total"] == 1
    assert len(tree["comments"]) == 1
    placeholder = tree["comments"][0]
    assert placeholder["status"] == "deleted"
    assert placeholder["author"] is None
    assert placeholder["html"] == ""
    assert [r["html"] for r in placeholder["replies"]] == ["<p>reply</p>\n"]
    row = Comment.get_by_id(root["comment"]["id"])
    assert (row.text, row.author, row.email) == ("", None, None)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("oldest", [0, 1, 2]), ("newest", [2, 1, 0]), ("top", [1, 2, 0])],
)
def test_sorting(client, sort, expected):
    made = [client.post_comment(text=f"c{i}").json["comment"]["id"] for i in range(3)]
    Comment.update(likes=5).where(Comment.id == made[1]).execute()
    Comment.update(likes=2).where(Comment.id == made[2]).execute()
    tree = client.thread(sort=sort).json
    assert tree["sort"] == sort
    assert ids(tree["comments"]) == [made[i] for i in expected]


@pytest.mark.parametrize("sort", ["oldest", "newest", "top"])
def test_cursor_paging_walks_every_top_level_comment_once(client, sort):
    made = [client.post_comment(text=f"c{i}").json["comment"]["id"] for i in range(7)]
    client.post_comment(text="reply", parent=made[0])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"sort": sort, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.thread(**params).json
        assert len(page["comments"]) <= 3
        assert page["thread"]["total"] == 8
        seen += ids(page["comments"])
        pages += 1
        cursor = page["cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(made)


def test_default_page_size_comes_from_config(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"comments.page_size": 2})))
    for i in range(3):
        client.post_comment(text=f"c{i}")
    page = client.thread().json
    assert len(page["comments"]) == 2
    assert page["cursor"]


def test_get_single_comment_with_and_without_token(client):
    created = client.post_comment(text="**mine**").json
    cid = created["comment"]["id"]
    public = client.get(f"/api/comments/{cid}").json["comment"]
    assert public["html"] == "<p><strong>mine</strong></p>\n"
    assert "text" not in public
    owned = client.get(f"/api/comments/{cid}", token=created["token"]).json["comment"]
    assert owned["text"] == "**mine**"
    assert owned["editable_until"].endswith("Z")


def test_edit_within_window_rerenders_and_marks_modified(client):
    created = client.post_comment(text="first", author="A").json
    cid = created["comment"]["id"]
    res = client.put(
        f"/api/comments/{cid}",
        {"text": "second _take_", "author": "B", "website": "example.org"},
        token=created["token"],
    )
    assert res.status == 200
    comment = res.json["comment"]
    assert comment["html"] == "<p>second <em>take</em></p>\n"
    assert comment["author"] == "B"
    assert comment["website"] == "https://example.org"
    assert comment["modified"] is not None
    assert client.thread().json["comments"][0]["html"] == "<p>second <em>take</em></p>\n"


def test_an_edited_text_is_what_the_double_post_check_compares(client):
    created = client.post_comment("/d/", text="first").json
    token = created["token"]
    assert client.put(f"/api/comments/{created['comment']['id']}", {"text": "second"}, token=token)
    assert client.post_comment("/d/", text="second").error_code == "duplicate_comment"
    assert client.post_comment("/d/", text="first").status == 201


def test_a_double_post_is_found_in_a_long_thread_by_its_exact_text(client):
    for n in range(30):
        assert client.post_comment("/d/", text=f"comment {n}").status == 201
    assert client.post_comment("/d/", text="comment 7").error_code == "duplicate_comment"
    assert client.post_comment("/d/", text="comment 7!").status == 201


def test_html_is_rendered_once_at_write_time(client):
    created = client.post_comment(text="*stored*").json
    Comment.update(html="<p>from the database</p>").where(
        Comment.id == created["comment"]["id"]
    ).execute()
    assert client.thread().json["comments"][0]["html"] == "<p>from the database</p>"


def test_edit_and_delete_close_with_the_window(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"comments.edit_window": "1s"})))
    created = client.post_comment(text="quick").json
    cid = created["comment"]["id"]
    time.sleep(1.1)
    for res in (
        client.put(f"/api/comments/{cid}", {"text": "late"}, token=created["token"]),
        client.delete(f"/api/comments/{cid}", token=created["token"]),
    ):
        assert res.status == 403
        assert res.error_code == "edit_expired"
    assert client.get(f"/api/comments/{cid}").json["comment"]["html"] == "<p>quick</p>\n"


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        (None, 401, "token_required"),
        ("garbage", 401, "invalid_token"),
        ("1.99999999999.AAAA", 401, "invalid_token"),
        ("1.2.3.4", 401, "invalid_token"),
    ],
)
def test_edit_refuses_bad_tokens(client, token, status, code):
    cid = client.post_comment(text="x").json["comment"]["id"]
    res = client.put(f"/api/comments/{cid}", {"text": "hijack"}, token=token)
    assert res.status == status
    assert res.error_code == code
    assert res.header("WWW-Authenticate") == 'Bearer realm="commentd"'
    assert client.get(f"/api/comments/{cid}").json["comment"]["html"] == "<p>x</p>\n"


def test_token_of_one_comment_cannot_edit_another(client):
    mine = client.post_comment(text="mine").json
    theirs = client.post_comment(text="theirs").json["comment"]["id"]
    res = client.delete(f"/api/comments/{theirs}", token=mine["token"])
    assert res.status == 403
    assert res.error_code == "token_mismatch"


def test_token_signed_with_another_secret_is_refused(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"security.secret": "a" * 40})))
    created = client.post_comment(text="x").json
    client = serve(make_app(make_config(**{"security.secret": "b" * 40})))
    res = client.delete(f"/api/comments/{created['comment']['id']}", token=created["token"])
    assert res.status == 401


def test_deleted_comment_cannot_be_edited_or_replied_to(client):
    created = client.post_comment(text="x").json
    cid = created["comment"]["id"]
    assert client.delete(f"/api/comments/{cid}", token=created["token"]).status == 200
    res = client.put(f"/api/comments/{cid}", {"text": "back"}, token=created["token"])
    assert (res.status, res.error_code) == (409, "comment_deleted")
    res = client.post_comment(text="reply", parent=cid)
    assert (res.status, res.error_code, res.json["error"]["field"]) == (
        409,
        "invalid_parent",
        "parent",
    )


def test_parent_must_be_in_the_same_thread(client):
    other = client.post_comment("/other/", text="x").json["comment"]["id"]
    res = client.post_comment("/post/", text="reply", parent=other)
    assert (res.status, res.error_code) == (409, "invalid_parent")
    assert client.thread("/post/").json["thread"]["total"] == 0


def test_locked_thread_refuses_new_comments(client):
    client.post_comment(text="first")
    Thread.update(locked=True).execute()
    res = client.post_comment(text="second")
    assert (res.status, res.error_code) == (403, "thread_locked")
    thread = client.thread().json
    assert thread["thread"]["locked"] is True
    assert thread["thread"]["total"] == 1


def test_idempotency_key_returns_the_first_result(client):
    headers = {"Idempotency-Key": "7f1c5c1e-retry"}
    first = client.post("/api/comments", {"text": "once"}, query={"uri": "/p/"}, headers=headers)
    again = client.post("/api/comments", {"text": "once"}, query={"uri": "/p/"}, headers=headers)
    assert first.status == again.status == 201
    assert again.json == first.json
    assert again.header("Idempotent-Replayed") == "true"
    assert client.thread("/p/").json["thread"]["total"] == 1
    other = client.post(
        "/api/comments", {"text": "twice"}, query={"uri": "/p/"}, headers={"Idempotency-Key": "k2"}
    )
    assert other.json["comment"]["id"] != first.json["comment"]["id"]


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"text": ""}, "text", "required"),
        ({"text": "   \n "}, "text", "required"),
        ({"text": 5}, "text", "invalid_type"),
        ({"text": "x" * 10_001}, "text", "too_long"),
        ({"text": "a\x00b"}, "text", "invalid_value"),
        ({"author": "x" * 129}, "author", "too_long"),
        ({"author": ["a"]}, "author", "invalid_type"),
        ({"email": "not-an-email"}, "email", "invalid_email"),
        ({"email": "a@b@c"}, "email", "invalid_email"),
        ({"website": "javascript:alert(1)"}, "website", "invalid_url"),
        ({"website": "ftp://example.com"}, "website", "invalid_url"),
        ({"website": "http://"}, "website", "invalid_url"),
        ({"website": "https://user:pw@example.com"}, "website", "invalid_url"),
        ({"website": "https://exa mple.com"}, "website", "invalid_url"),
        ({"parent": "1"}, "parent", "invalid_type"),
        ({"parent": -1}, "parent", "invalid_value"),
        ({"parent": 2**70}, "parent", "invalid_value"),
        ({"parent": 1e300}, "parent", "invalid_value"),
        ({"parent": 1.5}, "parent", "invalid_type"),
        ({"parent": 999.0}, "parent", "invalid_parent"),
        ({"parent": 999}, "parent", "invalid_parent"),
        ({"notify": "yes"}, "notify", "invalid_type"),
        ({"notify": True}, "notify", "email_required"),
        ({"title": "t" * 300}, "title", "too_long"),
    ],
)
def test_create_validation(client, fields, field, code):
    fields = {"text": "hello", **fields}
    res = client.post("/api/comments", fields, query={"uri": "/v/"})
    assert res.status == (409 if code == "invalid_parent" else 400)
    assert res.json["error"]["code"] == code
    assert res.json["error"]["field"] == field
    assert res.json["error"]["message"]
    assert Comment.select().count() == 0
    assert Thread.select().count() == 0


def test_text_of_exactly_max_length_is_accepted(client):
    assert client.post_comment(text="x" * 10_000).status == 201


@pytest.mark.parametrize("setting", ["author", "email"])
def test_required_author_and_email(serve, make_app, make_config, setting):
    client = serve(make_app(make_config(**{f"comments.require_{setting}": True})))
    res = client.post_comment(text="anon")
    assert (res.status, res.json["error"]["field"], res.error_code) == (400, setting, "required")
    ok = client.post_comment(text="named", author="N", email="n@example.com")
    assert ok.status == 201


def test_uri_is_required(client):
    res = client.post("/api/comments", {"text": "x"})
    assert (res.status, res.json["error"]["field"], res.error_code) == (400, "uri", "required")
    res = client.get("/api/comments")
    assert (res.status, res.json["error"]["field"]) == (400, "uri")


class TestVotes:
    def vote(self, client, cid, value, address_header=None, **kwargs):
        return client.post(f"/api/comments/{cid}/vote", {"value": value}, **kwargs)

    @pytest.fixture
    def foreign_comment(self, client):
        """A comment by someone else: its voter is not this test client's."""
        cid = client.post_comment(text="vote on me").json["comment"]["id"]
        Comment.update(voter="someone-else").execute()
        return cid

    def test_like_change_and_withdraw(self, client, foreign_comment):
        res = self.vote(client, foreign_comment, 1)
        assert res.status == 200
        assert res.json == {"id": foreign_comment, "likes": 1, "dislikes": 0, "vote": 1}
        res = self.vote(client, foreign_comment, 1)  # one vote per voter
        assert (res.json["likes"], res.json["dislikes"]) == (1, 0)
        res = self.vote(client, foreign_comment, -1)
        assert (res.json["likes"], res.json["dislikes"], res.json["vote"]) == (0, 1, -1)
        res = self.vote(client, foreign_comment, 0)
        assert (res.json["likes"], res.json["dislikes"], res.json["vote"]) == (0, 0, 0)
        self.vote(client, foreign_comment, 1)
        shown = client.thread().json["comments"][0]
        assert (shown["likes"], shown["dislikes"]) == (1, 0)

    def test_author_cannot_vote_on_own_comment(self, client):
        created = client.post_comment(text="mine").json
        res = self.vote(client, created["comment"]["id"], 1)
        assert (res.status, res.error_code) == (403, "own_comment")

    def test_author_token_also_proves_ownership(self, client):
        created = client.post_comment(text="mine").json
        Comment.update(voter="someone-else").execute()
        res = self.vote(client, created["comment"]["id"], 1, token=created["token"])
        assert (res.status, res.error_code) == (403, "own_comment")

    @pytest.mark.parametrize(("value", "counted"), [(1.0, 1), (-1.0, -1), (-0.0, 0)])
    def test_integral_numbers_are_integers_as_in_json(
        self, client, foreign_comment, value, counted
    ):
        res = self.vote(client, foreign_comment, value)
        assert res.status == 200
        assert res.json["vote"] == counted
        assert type(res.json["vote"]) is int

    @pytest.mark.parametrize("value", [2, -2, "1", True, None, 0.5, 1e300])
    def test_bad_values(self, client, foreign_comment, value):
        res = self.vote(client, foreign_comment, value)
        assert (res.status, res.error_code, res.json["error"]["field"]) == (
            400,
            "invalid_value",
            "value",
        )

    def test_unknown_and_deleted_comments(self, client):
        assert self.vote(client, 12345, 1).status == 404
        created = client.post_comment(text="gone").json
        client.delete(f"/api/comments/{created['comment']['id']}", token=created["token"])
        assert self.vote(client, created["comment"]["id"], 1).status == 404


class TestCounts:
    def test_get_and_post(self, client):
        client.post_comment("/a/", text="1")
        client.post_comment("/a/", text="2")
        client.post_comment("/b/", text="3")
        res = client.get("/api/counts", query=[("uri", "/a/"), ("uri", "/b/"), ("uri", "/c/")])
        assert res.json == {"counts": {"/a/": 2, "/b/": 1, "/c/": 0}}
        res = client.post("/api/counts", ["/a/", "/c/"])
        assert res.json == {"counts": {"/a/": 2, "/c/": 0}}
        res = client.post("/api/counts", {"uris": ["/b/"]})
        assert res.json == {"counts": {"/b/": 1}}

    def test_deleted_comments_are_not_counted(self, client):
        created = client.post_comment("/a/", text="1").json
        client.delete(f"/api/comments/{created['comment']['id']}", token=created["token"])
        assert client.get("/api/counts", query={"uri": "/a/"}).json == {"counts": {"/a/": 0}}

    @pytest.mark.parametrize("body", [{"uris": "x"}, "x", [1, 2], {"nope": []}])
    def test_bad_bodies(self, client, body):
        res = client.post("/api/counts", body)
        assert res.status == 400

    def test_too_many_uris(self, client):
        res = client.post("/api/counts", [f"/{i}/" for i in range(201)])
        assert (res.status, res.error_code, res.json["error"]["field"]) == (400, "too_many", "uris")
        res = client.get("/api/counts", query=[("uri", f"/{i}/") for i in range(201)])
        assert (res.status, res.error_code, res.json["error"]["field"]) == (400, "too_many", "uri")


def test_preview_renders_without_storing(client):
    res = client.post("/api/preview", {"text": "**bold** <script>x</script>"})
    assert res.status == 200
    assert res.json["html"].startswith("<p><strong>bold</strong> &lt;script&gt;")
    assert Comment.select().count() == 0


def test_client_config(client, config):
    res = client.get("/api/config").json
    assert res["max_length"] == config.comments.max_length == 10_000
    assert res["edit_window"] == 900
    assert res["max_depth"] == 6
    assert "secret" not in str(res)


def test_health(client):
    res = client.get("/health")
    assert res.status == 200
    assert res.json["status"] == "ok"
    assert res.json["database"] == "ok"


def test_demo_page_is_served(client):
    res = client.get("/")
    assert res.status == 200
    assert res.header("Content-Type").startswith("text/html")
    assert b'<script src="/js/embed.js" defer>' in res.raw
    assert b'href="/demo/#commentd" data-commentd-count-text' in res.raw
    assert client.get("/static/demo.css").status == 200
    assert client.get("/static/../setup.py").status == 404
    assert client.get("/js/../app.py").status == 404
    assert client.get("/js/nothing.js").status == 404


def test_idempotency_key_reused_for_another_comment_is_409(client):
    headers = {"Idempotency-Key": "same-key"}
    first = client.post("/api/comments", {"text": "one"}, query={"uri": "/p/"}, headers=headers)
    assert first.status == 201
    for text, uri in (("two", "/p/"), ("one", "/elsewhere/")):
        res = client.post("/api/comments", {"text": text}, query={"uri": uri}, headers=headers)
        assert (res.status, res.error_code) == (409, "idempotency_key_reused")
    assert Comment.select().count() == 1


def test_reading_with_a_stale_token_gives_the_public_view(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"comments.edit_window": "1s"})))
    created = client.post_comment(text="old").json
    cid = created["comment"]["id"]
    time.sleep(1.1)
    res = client.get(f"/api/comments/{cid}", token=created["token"])
    assert res.status == 200
    assert "text" not in res.json["comment"]
    res = client.get(f"/api/comments/{cid}", token="not-a-token")
    assert res.status == 200
    assert res.json["comment"]["html"] == "<p>old</p>\n"


def test_reading_a_deleted_comment_with_its_token_gives_the_placeholder(client):
    created = client.post_comment(text="bye").json
    cid = created["comment"]["id"]
    client.delete(f"/api/comments/{cid}", token=created["token"])
    res = client.get(f"/api/comments/{cid}", token=created["token"])
    assert res.status == 200
    assert res.json["comment"]["status"] == "deleted"
    assert res.json["comment"]["html"] == ""


def test_locked_thread_refuses_edits_and_votes_but_allows_deletes(client):
    created = client.post_comment(text="before the lock").json
    cid = created["comment"]["id"]
    Comment.update(voter="someone-else").execute()
    Thread.update(locked=True).execute()
    res = client.put(f"/api/comments/{cid}", {"text": "after"}, token=created["token"])
    assert (res.status, res.error_code) == (403, "thread_locked")
    res = client.post(f"/api/comments/{cid}/vote", {"value": 1})
    assert (res.status, res.error_code) == (403, "thread_locked")
    assert client.delete(f"/api/comments/{cid}", token=created["token"]).status == 200


def test_anonymous_comments_get_distinct_avatars(client):
    first = client.post_comment(text="a").json["comment"]["avatar"]
    second = client.post_comment(text="b").json["comment"]["avatar"]
    assert first != second
    named = [client.post_comment(text=t, author="Same").json["comment"]["avatar"] for t in "cd"]
    assert named[0] == named[1]


def test_max_depth_one_is_a_flat_thread(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"comments.max_depth": 1})))
    root = client.post_comment(text="root").json["comment"]["id"]
    reply = client.post_comment(text="reply", parent=root).json["comment"]["id"]
    tree = client.thread().json
    assert ids(tree["comments"]) == [root, reply]
    assert tree["comments"][1]["parent"] == root
    assert tree["comments"][0]["replies"] == []


class TestModerationAll:
    @pytest.fixture
    def client(self, serve, make_app, make_config):
        return serve(make_app(make_config(**{"moderation.mode": "all"})))

    def test_new_comments_wait_and_only_their_author_sees_them(self, client):
        created = client.post_comment("/held/", text="wait for me").json
        cid = created["comment"]["id"]
        assert created["comment"]["status"] == "pending"
        thread = client.thread("/held/").json
        assert thread["comments"] == []
        assert thread["thread"]["total"] == 0
        assert client.get("/api/counts", query={"uri": "/held/"}).json["counts"]["/held/"] == 0
        assert client.get(f"/api/comments/{cid}").status == 404
        mine = client.get(f"/api/comments/{cid}", token=created["token"])
        assert mine.status == 200
        assert mine.json["comment"]["status"] == "pending"
        assert mine.json["comment"]["text"] == "wait for me"

    def test_approving_publishes(self, client):
        cid = client.post_comment("/held/", text="soon").json["comment"]["id"]
        Comment.update(status="approved").where(Comment.id == cid).execute()
        assert ids(client.thread("/held/").json["comments"]) == [cid]

    def test_config_tells_the_embed(self, client):
        assert client.get("/api/config").json["moderation"] == ["all"]


def test_gravatar_is_off_by_default_and_published_only_when_on(serve, make_app, make_config):
    import hashlib

    client = serve(make_app(make_config()))
    off = client.post_comment(text="x", email=" Ada@Example.com ").json["comment"]
    assert off["gravatar"] is None
    assert client.get("/api/config").json["gravatar"] is False

    client = serve(make_app(make_config(**{"comments.gravatar": True})))
    on = client.post_comment(text="y", email=" Ada@Example.com ").json["comment"]
    expected = hashlib.md5(b"ada@example.com", usedforsecurity=False).hexdigest()
    assert on["gravatar"] == expected
    assert client.post_comment(text="z").json["comment"]["gravatar"] is None
    assert client.get("/api/config").json["gravatar"] is True


def test_embed_files_are_served_to_any_origin(client):
    for path, kind in (
        ("/js/embed.js", "javascript"),
        ("/js/embed.css", "text/css"),
        ("/js/count.js", "javascript"),
        ("/js/i18n/de.json", "json"),
    ):
        res = client.get(path, headers={"Origin": "https://any-blog.example"})
        assert res.status == 200, path
        assert kind in res.header("Content-Type"), path
        assert res.header("Access-Control-Allow-Origin") == "*", path
        assert res.header("X-Content-Type-Options") == "nosniff", path
        assert "max-age=" in res.header("Cache-Control"), path
    assert client.get("/js/i18n/de.json").json["submit"]
    res = client.get("/js/i18n/nope.json")
    assert res.status == 404
    for path in ("/js/", "/js/.hidden.js", "/js/i18n/../embed.js"):
        assert client.get(path).status == 404


def test_concurrent_first_comments_on_a_new_thread_all_succeed(client):
    """On PostgreSQL the requests really run in parallel and race to create the thread."""
    from concurrent.futures import ThreadPoolExecutor

    for round_ in range(5):
        uri = f"/race-{round_}/"
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda i, u=uri: client.post_comment(u, text=f"{i}"), range(4)))
        assert [res.status for res in results] == [201] * 4
        assert client.thread(uri).json["thread"]["total"] == 4
    assert Thread.select().count() == 5


def test_too_many_links_are_refused(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"comments.max_links": 2})))
    two = "see https://a.example and [b](https://b.example)"
    assert client.post_comment(text=two).status == 201
    res = client.post_comment(text=two + " and https://c.example")
    assert (res.status, res.error_code, res.json["error"]["field"]) == (
        400,
        "too_many_links",
        "text",
    )
    assert Comment.select().count() == 1


def test_the_same_text_twice_from_the_same_person_is_a_double_post(client):
    assert client.post_comment("/d/", text="Great post!").status == 201
    again = client.post_comment("/d/", text="Great post!")
    assert (again.status, again.error_code) == (409, "duplicate_comment")
    assert client.post_comment("/other/", text="Great post!").status == 201  # another thread
    Comment.update(voter="someone-else").execute()
    assert client.post_comment("/d/", text="Great post!").status == 201  # another person
    by_email = client.post_comment("/e/", text="Hi", email="a@example.com")
    Comment.update(voter="someone-else").execute()
    assert by_email.status == 201
    res = client.post_comment("/e/", text="Hi", email="a@example.com")
    assert res.error_code == "duplicate_comment"  # same email, even from elsewhere
    assert Thread.select().where(Thread.uri == "/e/").count() == 1


SNIPPET = re.compile(rb'&lt;script src="([^"]*)/js/embed.js" defer&gt;')


def test_the_demo_snippet_names_the_address_the_page_was_served_at(client):
    assert SNIPPET.search(client.get("/").raw)[1] == f"http://127.0.0.1:{client.port}".encode()
    proxied = client.get("/", headers={"Host": "comments.example.com"})
    assert SNIPPET.search(proxied.raw)[1] == b"http://comments.example.com"
    # a Host that is not a host name is not written into the page
    hostile = client.get("/", headers={"Host": 'x"><script>alert(1)</script>'})
    assert hostile.status in (200, 400)
    if hostile.status == 200:
        assert b"<script>alert" not in hostile.raw


def test_the_demo_snippet_prefers_the_configured_public_url(serve, make_app, make_config):
    client = serve(make_app(make_config(**{"server.public_url": "https://c.example.org/"})))
    assert SNIPPET.search(client.get("/").raw)[1] == b"https://c.example.org"
