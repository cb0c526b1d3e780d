"""Fixtures for the Fediverse tests: commentd with its account on, behind the live server
(``[server] public_url`` is the live server's own address, so documents name it), and
remote accounts on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fediverse.remote import RemoteAccount
from tests.pages import Site, serving

BLOG = "https://blog.example.com"


@pytest.fixture
def fedi_config(make_config, live_server) -> Callable[..., Any]:
    """A config with the account ``blog`` on, served at the live server's address."""
    _, port = live_server

    def make(**overrides: Any):
        values = {
            "site.url": BLOG,
            "server.public_url": f"http://127.0.0.1:{port}",
            "fediverse.account": "blog",
            "fediverse.display_name": "The Example Blog",
            "fediverse.summary": "Posts about <examples> & more",
            "fediverse.icon_url": "https://blog.example.com/icon.png",
            "webmention.allow_private_addresses": True,  # the other servers are on loopback
        }
        values.update(overrides)
        return make_config(**values)

    return make


@pytest.fixture
def remote_site() -> Iterator[Site]:
    with serving() as site:
        yield site


@pytest.fixture
def grace(remote_site) -> RemoteAccount:
    return RemoteAccount(remote_site, "grace")
