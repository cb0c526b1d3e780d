"""Fetching a stranger's URL (services/fetch.py) is bounded in time, size and redirects, and
never reaches a private, loopback or link-local address unless the test-only setting says so."""

from __future__ import annotations

import time

import pytest

from commentd.services import fetch
from commentd.services.fetch import FetchError, Limits
from commentd.services.fetch import fetch as get
from tests.pages import Answer, serving

LOOPBACK_OK = Limits(timeout=5, max_bytes=10_000, max_redirects=2, allow_private=True)
GUARDED = Limits(timeout=5, max_bytes=10_000, max_redirects=2, allow_private=False)


@pytest.fixture
def site():
    with serving() as site:
        yield site


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104 - an address to refuse, not to bind
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4 loopback written as IPv6
        ("::ffff:169.254.169.254", False),
        ("::", False),
        ("93.184.215.14", True),
        ("2606:4700::6810:84e5", True),
    ],
)
def test_only_public_addresses_count_as_public(address, public):
    assert fetch.is_public(address) is public


def test_a_page_is_fetched_with_its_status_headers_and_body(site):
    site.pages["/post"] = Answer(
        "<p>héllo</p>", headers={"Content-Type": "text/html; charset=utf-8"}
    )
    page = get(site.url("/post"), LOOPBACK_OK)
    assert (page.status, page.content_type, page.text()) == (200, "text/html", "<p>héllo</p>")
    assert site.received[0].headers["User-Agent"].startswith("commentd/")


def test_a_gone_page_is_an_answer_not_an_error(site):
    site.pages["/gone"] = Answer("deleted", 410)
    assert get(site.url("/gone"), LOOPBACK_OK).status == 410


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://0.0.0.0:9/",
        "http://2130706433:9/",  # 127.0.0.1 as one number
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(FetchError) as caught:
        get(url, GUARDED)
    assert caught.value.code == "fetch_private_address"


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/secret", "http://169.254.169.254/"])
def test_a_redirect_to_a_private_address_is_refused(monkeypatch, target):
    """A public page that redirects inward: the first hop passes, the redirect does not."""
    with serving("127.0.0.2") as outside, serving() as inside:
        inside.pages["/secret"] = Answer("internal")
        outside.pages["/post"] = Answer("", 302, {"Location": target.format(port=inside.port)})
        monkeypatch.setattr(fetch, "is_public", lambda address: address == "127.0.0.2")
        with pytest.raises(FetchError) as caught:
            get(outside.url("/post"), GUARDED)
        assert caught.value.code == "fetch_private_address"
        assert inside.received == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "http://u:p@example.com/"]
)
def test_only_plain_http_and_https_urls_are_fetched(url):
    with pytest.raises(FetchError) as caught:
        get(url, LOOPBACK_OK)
    assert caught.value.code == "fetch_bad_url"


def test_redirects_are_followed_relative_ones_too_up_to_the_limit(site):
    site.pages["/a"] = Answer("", 301, {"Location": "/b"})
    site.pages["/b"] = Answer("", 307, {"Location": site.url("/c")})
    site.pages["/c"] = Answer("here")
    page = get(site.url("/a"), LOOPBACK_OK)
    assert (page.url, page.text()) == (site.url("/c"), "here")
    site.pages["/c"] = Answer("", 302, {"Location": "/d"})
    with pytest.raises(FetchError) as caught:
        get(site.url("/a"), LOOPBACK_OK)
    assert caught.value.code == "fetch_too_many_redirects"


@pytest.mark.parametrize("chunked", [False, True])
def test_a_page_larger_than_the_limit_is_refused(site, chunked):
    site.pages["/big"] = Answer("x" * 10_001, chunked=chunked)
    with pytest.raises(FetchError) as caught:
        get(site.url("/big"), LOOPBACK_OK)
    assert caught.value.code == "fetch_too_large"
    site.pages["/big"] = Answer("x" * 10_000, chunked=chunked)
    assert len(get(site.url("/big"), LOOPBACK_OK).body) == 10_000


def test_a_slow_page_is_given_up_within_the_timeout(site):
    site.pages["/slow"] = Answer("late", delay=3)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        get(site.url("/slow"), Limits(timeout=0.5, allow_private=True))
    assert caught.value.code == "fetch_timeout"
    assert time.monotonic() - started < 2.5


def test_nothing_listening_is_a_clear_error():
    with serving() as gone:
        url = gone.url("/")
    with pytest.raises(FetchError) as caught:
        get(url, LOOPBACK_OK)
    assert caught.value.code == "fetch_failed"


def test_a_post_redirected_with_303_becomes_a_get(site):
    site.pages["/endpoint"] = Answer("", 303, {"Location": "/status"})
    site.pages["/status"] = Answer("ok")
    page = get(site.url("/endpoint"), LOOPBACK_OK, method="POST", body=b"a=1")
    assert page.text() == "ok"
    assert [(r.method, r.path) for r in site.received] == [
        ("POST", "/endpoint"),
        ("GET", "/status"),
    ]
