"""A thread's page on the blog comes from ``[site] url`` and the uri, never from a request."""

from __future__ import annotations

import pytest

from commentd.config import load_config
from commentd.services.pages import page_url, permalink


def config(url: str = "https://blog.example.com"):
    return load_config(None, environ={}, overrides={"site.url": url})


@pytest.mark.parametrize(
    ("uri", "page"),
    [
        ("/2026/hello/", "https://blog.example.com/2026/hello/"),
        ("/", "https://blog.example.com/"),
        ("/post/?p=3", "https://blog.example.com/post/?p=3"),
        ("/café/ a", "https://blog.example.com/caf%C3%A9/%20a"),
        ('/"><script>', "https://blog.example.com/%22%3E%3Cscript%3E"),
        ("//evil.example/x", "https://blog.example.com//evil.example/x"),
        ("https://blog.example.com/a/", "https://blog.example.com/a/"),
        ("HTTPS://Blog.Example.com/a/?q=1", "https://blog.example.com/a/?q=1"),
        ("https://evil.example/a/", "https://blog.example.com/"),
        ("javascript:alert(1)", "https://blog.example.com/"),
        ("post-42", "https://blog.example.com/"),
    ],
)
def test_a_page_is_always_on_the_blog(uri, page):
    assert page_url(config(), uri) == page


def test_a_trailing_slash_in_the_setting_is_ignored():
    assert page_url(config("https://blog.example.com/"), "/a/") == "https://blog.example.com/a/"
    assert page_url(config("https://example.com/blog"), "/a/") == "https://example.com/blog/a/"


def test_without_a_site_url_every_page_is_the_demo():
    plain = load_config(None, environ={})
    assert page_url(plain, "/demo/") == "http://127.0.0.1:8080/"
    assert page_url(plain, "https://evil.example/") == "http://127.0.0.1:8080/"


def test_a_permalink_is_the_page_and_the_embeds_anchor():
    assert permalink(config(), "/a/", 42) == "https://blog.example.com/a/#c42"
