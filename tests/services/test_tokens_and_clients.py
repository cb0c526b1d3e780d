"""Edit tokens, client address anonymization, and derived keys."""

from __future__ import annotations

import datetime as dt

import pytest

from commentd.errors import Forbidden, Unauthorized
from commentd.services import tokens
from commentd.services.clients import Client, anonymize_ip
from commentd.services.keys import Keys

KEY = b"k" * 32
NOW = dt.datetime(2026, 11, 27, 12, 0, 0)
LATER = NOW + dt.timedelta(minutes=15)


def test_token_round_trip():
    token = tokens.issue(KEY, 42, LATER)
    assert token.startswith("42.")
    tokens.verify(KEY, token, 42, NOW)  # does not raise


@pytest.mark.parametrize(
    ("mutate", "error", "code"),
    [
        (lambda t: None, Unauthorized, "token_required"),
        (lambda t: "", Unauthorized, "token_required"),
        (
            lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
            Unauthorized,
            "invalid_token",
        ),
        (lambda t: t.replace("42.", "43.", 1), Unauthorized, "invalid_token"),
        (lambda t: "42.9999999999." + t.split(".")[2], Unauthorized, "invalid_token"),
        (lambda t: t + "." + t, Unauthorized, "invalid_token"),
        (lambda t: "x" * 500, Unauthorized, "invalid_token"),
        (lambda t: "42.1.%%%", Unauthorized, "invalid_token"),
    ],
)
def test_tampered_tokens_are_refused(mutate, error, code):
    token = mutate(tokens.issue(KEY, 42, LATER))
    with pytest.raises(error) as caught:
        tokens.verify(KEY, token, 42, NOW)
    assert caught.value.code == code


def test_token_for_another_comment_and_expired_token():
    token = tokens.issue(KEY, 7, LATER)
    with pytest.raises(Forbidden) as caught:
        tokens.verify(KEY, token, 8, NOW)
    assert caught.value.code == "token_mismatch"
    with pytest.raises(Forbidden) as caught:
        tokens.verify(KEY, token, 7, LATER)
    assert caught.value.code == "edit_expired"


def test_token_from_another_key_is_refused():
    with pytest.raises(Unauthorized):
        tokens.verify(b"other" * 8, tokens.issue(KEY, 1, LATER), 1, NOW)


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("not an address", None),
        ("", None),
    ],
)
def test_addresses_are_anonymized_before_storage(address, stored):
    assert anonymize_ip(address) == stored
    assert Client(address).network == stored


def test_voter_ids_are_keyed_and_distinct():
    keys = Keys.from_secret("s" * 40)
    other = Keys.from_secret("t" * 40)
    a, b = Client("203.0.113.1"), Client("203.0.113.2")
    assert a.voter(keys.voter) != b.voter(keys.voter)  # same /24, different voters
    assert a.voter(keys.voter) != a.voter(other.voter)
    assert "203.0.113" not in a.voter(keys.voter)


def test_each_purpose_gets_its_own_key():
    keys = Keys.from_secret("s" * 40)
    assert len({keys.edit_token, keys.voter, keys.avatar, keys.idempotency}) == 4
