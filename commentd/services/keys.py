"""The site secret, and the purpose-bound keys derived from it.

One secret signs everything; each use gets its own key (``HMAC(secret, purpose)``) so a
value made for one purpose can never be replayed as another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from peewee import IntegrityError

from commentd.storage.database import write_transaction
from commentd.storage.models import Setting

SECRET_SETTING = "secret"  # noqa: S105 - the name of a row, not a password


def stored_secret() -> str:
    """The secret kept in the database, generated and saved on first use."""
    row = Setting.get_or_none(Setting.key == SECRET_SETTING)
    if row is not None:
        return row.value
    try:
        with write_transaction():
            Setting.create(key=SECRET_SETTING, value=secrets.token_urlsafe(48))
    except IntegrityError:
        pass  # another process saved one first; use theirs
    return Setting.get(Setting.key == SECRET_SETTING).value


def derive(secret: str, purpose: str) -> bytes:
    """A key for one ``purpose``, derived from the site secret."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def keyed_hash(key: bytes, value: str, length: int = 32) -> str:
    """A hex HMAC of ``value`` under ``key``, truncated to ``length`` hex characters."""
    return hmac.digest(key, value.encode(), "sha256").hex()[:length]


@dataclass(frozen=True)
class Keys:
    """The keys each part of commentd signs or hashes with."""

    edit_token: bytes
    voter: bytes
    avatar: bytes
    idempotency: bytes
    form_stamp: bytes
    moderation_link: bytes
    unsubscribe: bytes
    admin_session: bytes
    subscription: bytes
    challenge: bytes
    webmention_status: bytes

    @classmethod
    def from_secret(cls, secret: str) -> Keys:
        return cls(
            edit_token=derive(secret, "commentd/edit-token/v1"),
            voter=derive(secret, "commentd/voter/v1"),
            avatar=derive(secret, "commentd/avatar/v1"),
            idempotency=derive(secret, "commentd/idempotency/v1"),
            form_stamp=derive(secret, "commentd/form-stamp/v1"),
            moderation_link=derive(secret, "commentd/moderation-link/v1"),
            unsubscribe=derive(secret, "commentd/unsubscribe/v1"),
            admin_session=derive(secret, "commentd/admin-session/v1"),
            subscription=derive(secret, "commentd/subscription/v1"),
            challenge=derive(secret, "commentd/challenge/v1"),
            webmention_status=derive(secret, "commentd/webmention-status/v1"),
        )
