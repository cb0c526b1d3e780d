"""HTTP Signatures as the Fediverse uses them: draft-cavage-http-signatures-12 with RSA-SHA256
over ``(request-target)``, ``host``, ``date`` and (for a body) ``digest``, the way Mastodon
signs and checks them, and the ``Digest: SHA-256=...`` header (RFC 3230) of the body.

``sign`` adds ``Date``, ``Digest`` and ``Signature`` to a request; ``parse`` reads a
``Signature`` header; ``precheck`` checks what needs no key (the headers it must cover, the
date within the window, the digest against the body) and ``verify`` the RSA signature with
the signer's public key. Every failure is a ``SignatureError`` (401) with its own code.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from commentd.errors import Unauthorized

ALGORITHMS = ("rsa-sha256", "hs2019")  # hs2019: "read the algorithm from the key" (RSA here)
SIGNED_FOR_BODY = ("(request-target)", "host", "date", "digest")
SIGNED_WITHOUT_BODY = ("(request-target)", "host", "date")
MAX_HEADER = 8192
_PARAM = re.compile(r'\s*([a-zA-Z]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


class SignatureError(Unauthorized):
    """A request whose signature is missing, malformed, stale or wrong."""

    code = "signature_invalid"


@dataclass(frozen=True)
class Signature:
    """A parsed ``Signature`` header."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers: the method, the path with its query, headers, the body."""

    method: str
    target: str
    headers: Mapping[str, str]  # by lower-case name
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def digest(body: bytes) -> str:
    """The ``Digest`` header's value for ``body``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def http_date(moment: dt.datetime) -> str:
    """``moment`` as an HTTP date (``Tue, 01 Dec 2026 10:00:00 GMT``)."""
    return email.utils.format_datetime(moment.replace(tzinfo=dt.timezone.utc), usegmt=True)


def _line(name: str, request: SignedRequest) -> str:
    if name == "(request-target)":
        return f"(request-target): {request.method.lower()} {request.target}"
    value = request.header(name)
    if value is None:
        raise SignatureError(
            f"The signature covers the {name} header, which the request lacks.",
            code="signature_malformed",
        )
    return f"{name}: {value.strip()}"


def signing_string(names: tuple[str, ...], request: SignedRequest) -> bytes:
    """The text that is signed: one ``name: value`` line per covered header."""
    return "\n".join(_line(name, request) for name in names).encode()


def sign(
    private_key: rsa.RSAPrivateKey,
    key_id: str,
    method: str,
    url: str,
    body: bytes | None,
    now: dt.datetime,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers for a signed request to ``url``: ``headers`` plus ``Host``, ``Date``,
    ``Digest`` (with a body) and ``Signature``."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    out = dict(headers or {})
    out["Host"] = parts.netloc
    out["Date"] = http_date(now)
    names = SIGNED_WITHOUT_BODY
    if body is not None:
        out["Digest"] = digest(body)
        names = SIGNED_FOR_BODY
    request = SignedRequest(method, target, {k.lower(): v for k, v in out.items()}, body or b"")
    signature = private_key.sign(
        signing_string(names, request), padding.PKCS1v15(), hashes.SHA256()
    )
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return out


def parse(value: str | None) -> Signature:
    """The ``Signature`` header's parameters; ``SignatureError`` when absent or malformed."""
    if not value:
        raise SignatureError("The request is not signed.", code="signature_missing")
    if len(value) > MAX_HEADER:
        raise SignatureError("The Signature header is too long.", code="signature_malformed")
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _PARAM.match(value, position)
        if match is None:
            raise SignatureError("The Signature header is malformed.", code="signature_malformed")
        params[match.group(1).lower()] = match.group(2)
        position = match.end()
    key_id, encoded = params.get("keyid"), params.get("signature")
    if not key_id or not encoded:
        raise SignatureError(
            "The Signature header needs keyId and signature.", code="signature_malformed"
        )
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ALGORITHMS:
        raise SignatureError(
            f"The signature algorithm {algorithm[:40]!r} is not supported (rsa-sha256 is).",
            code="signature_malformed",
        )
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("The signature is not base64.", code="signature_malformed") from None
    names = tuple(params.get("headers", "date").lower().split())
    return Signature(key_id, algorithm, names, raw)


def _check_date(request: SignedRequest, now: dt.datetime, window: int) -> None:
    try:
        when = email.utils.parsedate_to_datetime(request.header("date") or "")
    except (TypeError, ValueError):
        when = None
    if when is None:
        raise SignatureError("The request's Date is not an HTTP date.", code="signature_malformed")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    skew = abs((now.replace(tzinfo=dt.timezone.utc) - when).total_seconds())
    if skew > window:
        raise SignatureError(
            f"The request's Date is {int(skew)} s from now, more than the {window} s allowed.",
            code="signature_stale",
        )


def _check_digest(request: SignedRequest) -> None:
    given = request.header("digest") or ""
    expected = digest(request.body)
    for part in given.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "sha-256":
            if hmac.compare_digest(f"SHA-256={value}".encode(), expected.encode()):
                return
            raise SignatureError("The Digest does not match the body.", code="digest_mismatch")
    raise SignatureError("The request has no SHA-256 Digest.", code="digest_mismatch")


def precheck(signature: Signature, request: SignedRequest, now: dt.datetime, window: int) -> None:
    """The checks that need no key, made before one is fetched: the headers the signature
    covers, the date within ``window`` seconds of ``now``, the digest against the body."""
    body = bool(request.body) or request.method.upper() == "POST"
    needed = SIGNED_FOR_BODY if body else SIGNED_WITHOUT_BODY
    missing = [name for name in needed if name not in signature.headers]
    if missing:
        raise SignatureError(
            f"The signature must cover {', '.join(missing)}.", code="signature_malformed"
        )
    _check_date(request, now, window)
    if "digest" in signature.headers:
        _check_digest(request)


def verify(signature: Signature, request: SignedRequest, public_key: rsa.RSAPublicKey) -> None:
    """Check the RSA signature itself; ``SignatureError`` (``signature_invalid``) if wrong."""
    try:
        public_key.verify(
            signature.signature,
            signing_string(signature.headers, request),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise SignatureError("The signature does not match.", code="signature_invalid") from None


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM (SubjectPublicKeyInfo or PKCS#1); ``SignatureError`` if not."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise SignatureError(
            "The signer's public key cannot be read.", code="signature_key_invalid"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("The signer's key is not an RSA key.", code="signature_key_invalid")
    return key
