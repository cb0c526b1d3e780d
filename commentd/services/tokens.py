"""Edit tokens: an HMAC over a comment id and an expiry, sent as a bearer token.

Tokens are stateless and never cookies, so they work in any browser, third-party cookies or
not. Format: ``<comment id>.<expiry, unix seconds>.<base64url HMAC-SHA256>``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac

from commentd.errors import Forbidden, Unauthorized
from commentd.services.validation import whole_number

MAX_TOKEN_LENGTH = 200


def _unix(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.timezone.utc).timestamp())


def _signature(key: bytes, comment_id: int, expires: int) -> bytes:
    return hmac.new(key, f"edit:{comment_id}:{expires}".encode(), hashlib.sha256).digest()


def issue(key: bytes, comment_id: int, expires: dt.datetime) -> str:
    """A token that lets its holder edit or delete ``comment_id`` until ``expires`` (UTC)."""
    stamp = _unix(expires)
    signature = base64.urlsafe_b64encode(_signature(key, comment_id, stamp)).rstrip(b"=")
    return f"{comment_id}.{stamp}.{signature.decode()}"


def verify(key: bytes, token: str | None, comment_id: int, now: dt.datetime) -> None:
    """Raise unless ``token`` is a valid, unexpired token for ``comment_id``."""
    if not token:
        raise Unauthorized("This needs the comment's edit token.", code="token_required")
    parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
    token_id, expires = (
        (whole_number(parts[0]), whole_number(parts[1])) if len(parts) == 3 else (None, None)
    )
    if token_id is None or expires is None:
        raise Unauthorized("The edit token is malformed.")
    try:
        given = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("The edit token is malformed.") from exc
    if not hmac.compare_digest(given, _signature(key, token_id, expires)):
        raise Unauthorized("The edit token is not valid.")
    if token_id != comment_id:
        raise Forbidden("This token belongs to another comment.", code="token_mismatch")
    if expires <= _unix(now):
        raise Forbidden("The time to edit or delete this comment is over.", code="edit_expired")
