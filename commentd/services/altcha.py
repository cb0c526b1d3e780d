"""ALTCHA proof-of-work challenges: made, signed and checked; no state, no database.

The protocol (https://altcha.org, its v1 "SHA-256" challenge): the server picks a random
``salt`` and a secret ``number`` from 0 to ``maxnumber``, and hands out ``challenge`` =
hex SHA-256(salt + str(number)) with ``signature`` = hex HMAC-SHA256(key, challenge). The
browser tries numbers until one hashes to the challenge, and sends back the base64 of the JSON
``{algorithm, challenge, number, salt, signature}``. Finding the number takes ``maxnumber / 2``
hashes on average; checking it takes one hash and one HMAC.

The salt is ``<random hex>?expires=<unix seconds>&maxnumber=<maxnumber>&`` (ALTCHA's own
form: its parameters after ``?``, a closing ``&`` against parameter splicing), 64 characters
long: one whole SHA-256 block, which a solver hashes once, so each try costs one block more
(commentd/static/js/pow.js). It is hashed into the signed challenge, so its expiry and
difficulty cannot be changed without redoing the work and forging the signature.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

ALGORITHM = "SHA-256"
MAX_PAYLOAD = 1024  # characters of base64: a genuine solution has about 300
SALT_LENGTH = 64
SALT_PATTERN = re.compile(r"[0-9a-f]{16,40}\?expires=([0-9]{1,12})&maxnumber=([0-9]{1,9})&")
HEX64 = re.compile(r"[0-9a-f]{64}")


class ChallengeError(Exception):
    """A solution that is not one: ``reason`` is ``invalid`` or ``expired``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Challenge:
    """A challenge as it is handed out."""

    challenge: str
    salt: str
    signature: str
    max_number: int
    expires: int  # unix seconds

    def to_dict(self) -> dict:
        """The JSON an ALTCHA solver takes (``maxnumber`` as ALTCHA's own servers spell it)."""
        return {
            "algorithm": ALGORITHM,
            "challenge": self.challenge,
            "maxnumber": self.max_number,
            "salt": self.salt,
            "signature": self.signature,
        }


@dataclass(frozen=True)
class Proof:
    """A solution checked: the challenge it solved, its difficulty and its expiry."""

    challenge: str
    max_number: int
    expires: dt.datetime  # naive UTC


def _unix(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.timezone.utc).timestamp())


def _hash(salt: str, number: int) -> str:
    return hashlib.sha256(f"{salt}{number}".encode()).hexdigest()


def _sign(key: bytes, challenge: str) -> str:
    return hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest()


def issue(key: bytes, max_number: int, expires: dt.datetime) -> Challenge:
    """A fresh challenge of difficulty ``max_number`` that may be solved until ``expires``."""
    stamp = _unix(expires)
    params = f"?expires={stamp}&maxnumber={max_number}&"
    salt = secrets.token_hex(20)[: max(16, SALT_LENGTH - len(params))] + params
    challenge = _hash(salt, secrets.randbelow(max_number + 1))
    return Challenge(challenge, salt, _sign(key, challenge), max_number, stamp)


def _fields(payload: object) -> dict:
    """The solution's JSON object, from its base64 (standard or URL-safe alphabet)."""
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD:
        raise ChallengeError("invalid", "The proof of work is not a solution.")
    text = payload.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        fields = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise ChallengeError("invalid", "The proof of work is not a solution.") from None
    if not isinstance(fields, dict):
        raise ChallengeError("invalid", "The proof of work is not a solution.")
    return fields


def verify(key: bytes, payload: object, now: dt.datetime) -> Proof:
    """The challenge a base64 solution solves; ``ChallengeError`` when it solves none of ours
    (wrong shape, work or signature: ``invalid``) or is past its expiry (``expired``)."""
    fields = _fields(payload)
    salt, number = fields.get("salt"), fields.get("number")
    challenge, signature = fields.get("challenge"), fields.get("signature")
    shaped = (
        fields.get("algorithm") == ALGORITHM
        and isinstance(salt, str)
        and isinstance(challenge, str)
        and isinstance(signature, str)
        and isinstance(number, int)
        and not isinstance(number, bool)
        and HEX64.fullmatch(challenge) is not None
    )
    found = SALT_PATTERN.fullmatch(salt) if shaped else None
    if found is None or not 0 <= number <= int(found.group(2)):
        raise ChallengeError("invalid", "The proof of work is not a solution.")
    # Both compared in constant time: nothing is learnt from how long a refusal takes.
    worked = hmac.compare_digest(_hash(salt, number), challenge)
    signed = hmac.compare_digest(_sign(key, challenge), signature.lower())
    if not (worked and signed):
        raise ChallengeError("invalid", "The proof of work does not solve a challenge of ours.")
    expires = int(found.group(1))
    if expires <= _unix(now):
        raise ChallengeError("expired", "The proof of work came after its challenge expired.")
    return Proof(
        challenge=challenge,
        max_number=int(found.group(2)),
        expires=dt.datetime.fromtimestamp(expires, dt.timezone.utc).replace(tzinfo=None),
    )
