"""The admin password and sessions: scrypt strings, signed cookies, generations, CSRF tokens."""

from __future__ import annotations

import hashlib

import pytest

from commentd.errors import TooManyRequests, Unauthorized, ValidationError
from commentd.services import admin_auth
from commentd.services.admin_auth import AdminAuth, Session
from commentd.services.audit import Actor
from commentd.services.clients import Client
from commentd.services.guard import RateLimiter
from commentd.services.site import open_site
from commentd.storage.database import connection
from commentd.storage.models import Setting

CLI = Actor("cli", "test")
HOME = Client("203.0.113.7")


@pytest.fixture
def db(make_config):
    """A migrated database; yields the config with a connection held."""
    config = make_config(**{"admin.login_attempts": 2})
    open_site(config)
    with connection():
        yield config


@pytest.fixture
def clock():
    class Clock:
        now = 1_800_000_000.0

        def __call__(self) -> float:
            return self.now

    return Clock()


@pytest.fixture
def auth(db, clock):
    return AdminAuth(b"k" * 32, 3600, RateLimiter(db, clock=clock), clock=clock)


def test_the_hash_is_self_describing_scrypt_with_a_random_salt():
    encoded = admin_auth.hash_password("a long password")
    name, n, r, p, salt, digest = encoded.split("$")
    assert (name, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(admin_auth._unb64(salt)) == 16
    expected = hashlib.scrypt(
        b"a long password", salt=admin_auth._unb64(salt), n=2**14, r=8, p=1, dklen=32
    )
    assert admin_auth._unb64(digest) == expected
    assert admin_auth.hash_password("a long password") != encoded  # a fresh salt each time
    assert admin_auth.check_password("a long password", encoded)
    assert not admin_auth.check_password("a long passwort", encoded)


@pytest.mark.parametrize(
    "encoded",
    ["", "plain", "scrypt$16384$8$1$!!$!!", "scrypt$x$8$1$AA$AA", "scrypt$1073741824$8$1$AA$AA"],
)
def test_a_damaged_hash_never_matches(encoded):
    assert not admin_auth.check_password("anything", encoded)


def test_set_password_stores_a_hash_and_bumps_the_generation(db):
    assert not admin_auth.password_is_set()
    assert admin_auth.generation() == 0
    admin_auth.set_password("first password", CLI)
    stored = Setting.get_by_id(admin_auth.PASSWORD_SETTING).value
    assert stored.startswith("scrypt$")
    assert "first password" not in stored
    assert admin_auth.generation() == 1
    admin_auth.set_password("second password", CLI)
    assert admin_auth.generation() == 2


def test_a_short_password_is_refused(db):
    with pytest.raises(ValidationError, match="at least 10 characters"):
        admin_auth.set_password("short", CLI)
    assert not admin_auth.password_is_set()


def test_a_session_lives_until_it_expires(auth, clock):
    admin_auth.set_password("the password", CLI)
    cookie = auth.login("the password", HOME)
    session = auth.session(cookie)
    assert session is not None
    assert session.expires == int(clock.now) + 3600
    clock.now += 3599
    assert auth.session(cookie) == session
    clock.now += 1
    assert auth.session(cookie) is None


def test_a_new_password_voids_older_sessions(auth):
    admin_auth.set_password("the password", CLI)
    cookie = auth.login("the password", HOME)
    admin_auth.set_password("the password", CLI)
    assert auth.session(cookie) is None
    assert auth.session(auth.login("the password", HOME)) is not None


def test_logging_out_revokes_that_session_only(auth):
    admin_auth.set_password("the password", CLI)
    one, two = auth.login("the password", HOME), auth.login("the password", HOME)
    auth.logout(auth.session(one), HOME)
    assert auth.session(one) is None
    assert auth.session(two) is not None


def test_failures_are_limited_and_then_even_the_right_password_waits(auth, clock):
    admin_auth.set_password("the password", CLI)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            auth.login("wrong", HOME)
    with pytest.raises(TooManyRequests) as refused:
        auth.login("the password", HOME)
    assert 0 < int(refused.value.headers["Retry-After"]) <= 900
    assert auth.login("the password", Client("198.51.100.1"))  # another network is not held
    clock.now += 900
    assert auth.login("the password", HOME)


def test_csrf_tokens_belong_to_one_session(auth):
    token = auth.csrf_token("session-a")
    assert auth.check_csrf("session-a", token)
    assert not auth.check_csrf("session-b", token)
    assert not auth.check_csrf("session-a", None)
    assert not auth.check_csrf("session-a", "")
    assert not auth.check_csrf("session-a", token[:-1])


def test_cookies_from_another_key_are_refused(auth, db, clock):
    other = AdminAuth(b"o" * 32, 3600, RateLimiter(db, clock=clock), clock=clock)
    cookie = other.cookie(Session("abc", int(clock.now) + 60))
    assert auth.session(cookie) is None
    assert other.session(cookie) is not None
