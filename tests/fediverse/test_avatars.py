"""A Fediverse author's avatar: fetched once by the outbox worker, kept, served from
commentd's own origin (``GET /avatars/<digest>``) and named in the thread's JSON, so the
embed shows it without the reader's browser asking the author's server. What is not a
PNG, JPEG, GIF or WebP, or is too large, is never kept."""

from __future__ import annotations

import struct
import zlib

import pytest

from commentd.services import outbox
from commentd.services.audit import Actor
from commentd.services.avatars import MAX_BYTES, digest_of, image_type
from commentd.services.site import open_site
from commentd.storage.database import connection
from commentd.storage.models import Avatar, Comment
from tests.fediverse.test_inbox import URI, article, blog, post, shown  # noqa: F401
from tests.pages import Answer


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def reply_with_avatar(client, grace, body: bytes, content_type: str = "image/png") -> dict:
    grace.site.pages["/grace.png"] = Answer(body, headers={"Content-Type": content_type})
    post(client, grace, grace.activity("Create", grace.note(article(client))))
    with connection():
        assert outbox.Worker(client.config, steps=[]).run_once() == 1  # the avatar's fetch
    (comment,) = shown(client)
    return comment


def test_the_avatar_is_kept_and_served_from_commentd(blog, grace):  # noqa: F811
    comment = reply_with_avatar(blog, grace, png())
    icon = grace.site.url("/grace.png")
    expected = f"http://127.0.0.1:{blog.port}/avatars/{digest_of(icon)}"
    assert comment["picture"] == expected
    res = blog.get(expected.split(str(blog.port), 1)[1])
    assert res.status == 200
    assert res.raw == png()
    assert res.header("content-type") == "image/png"
    assert res.header("x-content-type-options") == "nosniff"
    assert res.header("content-security-policy") == "default-src 'none'; sandbox"
    fetched = [r for r in grace.site.received if r.path == "/grace.png"]
    assert len(fetched) == 1
    # a second reply of the same author shows the kept picture at once, fetched no more
    post(blog, grace, grace.activity("Create", grace.note(article(blog), "<p>Two</p>")))
    assert [c["picture"] for c in shown(blog)] == [expected, expected]
    with connection():
        assert outbox.Worker(blog.config, steps=[]).run_once() == 0
    assert len([r for r in grace.site.received if r.path == "/grace.png"]) == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><script>alert(1)</script></html>", "image/png"),  # says it is, is not
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "image/svg+xml"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_BYTES + 1), "image/png"),  # too large
    ],
    ids=["html", "svg", "too-large"],
)
def test_what_is_not_a_small_picture_is_never_kept(blog, grace, body, content_type):  # noqa: F811
    comment = reply_with_avatar(blog, grace, body, content_type)
    assert comment["picture"] is None
    with connection():
        (kept,) = Avatar.select()
        assert (kept.status, kept.data) == ("failed", None)
    res = blog.get(f"/avatars/{kept.digest}")
    assert (res.status, res.error_code) == (404, "avatar_not_found")


def test_deleting_the_comment_drops_its_picture(blog, grace):  # noqa: F811
    comment = reply_with_avatar(blog, grace, png())
    assert comment["picture"]
    with connection():
        open_site(blog.config).moderation().delete([comment["id"]], Actor("cli", "t"))
        erased = Comment.get_by_id(comment["id"])
        assert (erased.photo, erased.picture) == (None, None)


def test_image_types_are_known_by_their_first_bytes():
    assert image_type(png()) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type(b"GIF89a...") == "image/gif"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"<svg") is None
