"""HMAC-SHA256 signatures for the tokens in mailed links, in URL-safe base64."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac

from commentd.errors import NotFound

INVALID = NotFound("This link is not valid.", code="invalid_link")


def b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of ``b64`` text; ``invalid_link`` (404) for anything else."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise INVALID from None


def unix(moment: dt.datetime) -> int:
    """A naive UTC datetime as Unix seconds."""
    return int(moment.replace(tzinfo=dt.timezone.utc).timestamp())


def sign(key: bytes, message: str) -> str:
    """The signature of ``message`` under ``key``."""
    return b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


def check(key: bytes, message: str, signature: str) -> None:
    """Raise ``invalid_link`` unless ``signature`` is ``message``'s (compared in constant time)."""
    expected = hmac.new(key, message.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(unb64(signature), expected):
        raise INVALID
