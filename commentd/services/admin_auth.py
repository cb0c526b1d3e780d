"""The admin's password and sessions for the web admin page.

The password is stored in the ``Setting`` table as a self-describing scrypt string,
``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64url), never in the config file. A session is a
signed cookie, ``<id>.<expires>.<generation>.<mac>``: an HMAC under the ``admin_session`` key
over the session id, its expiry and the session generation. Setting a password bumps the
generation, which signs out every session; signing out records the session id as used until
it would have expired. Forms carry a CSRF token, an HMAC of the session id.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from commentd.errors import TooManyRequests, Unauthorized, ValidationError
from commentd.services import audit
from commentd.services.audit import Actor
from commentd.services.clients import Client
from commentd.services.guard import RateLimiter
from commentd.services.validation import whole_number
from commentd.storage.database import write_transaction
from commentd.storage.models import Setting, UsedToken, utcnow

PASSWORD_SETTING = "admin_password"  # noqa: S105 - the name of a row, not a password
GENERATION_SETTING = "admin_session_generation"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_COOKIE_LENGTH = 300
REVOKED_PREFIX = "admin-session:"
LOGIN_NONCE_LIFETIME = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the password -----------------------------------------------------------------------


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``password`` as a self-describing scrypt string with a fresh 16-byte salt."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=HASH_BYTES
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded`` (compared in constant time)."""
    parts = encoded.split("$")
    numbers = [whole_number(value, max_digits=8) for value in parts[1:4]]
    if len(parts) != 6 or parts[0] != "scrypt" or None in numbers:
        return False
    n, r, p = numbers
    if n > 2**20 or r > 32 or p > 16:  # refuse parameters that would exhaust memory
        return False
    try:
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=2**27
        )
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(digest, expected)


def _setting(key: str) -> str | None:
    row = Setting.get_or_none(Setting.key == key)
    return row.value if row is not None else None


def _store(key: str, value: str) -> None:
    Setting.insert(key=key, value=value).on_conflict(
        conflict_target=[Setting.key], update={Setting.value: value}
    ).execute()


def password_is_set() -> bool:
    """Whether an admin password has been set (until then nobody can sign in)."""
    return _setting(PASSWORD_SETTING) is not None


def generation() -> int:
    """The current session generation; sessions of an older one are void."""
    value = _setting(GENERATION_SETTING)
    return (whole_number(value) if value else None) or 0


def set_password(password: str, actor: Actor) -> None:
    """Store a new admin password and sign out every session."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            code="invalid_value",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.",
            code="too_long",
            field="password",
        )
    encoded = hash_password(password)
    with write_transaction():
        _store(PASSWORD_SETTING, encoded)
        _store(GENERATION_SETTING, str(generation() + 1))
        audit.record(actor, "set_password", "admin", None)


# -- sessions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A signed-in admin: the session id and when it ends (unix seconds)."""

    id: str
    expires: int


class AdminAuth:
    """Signs admins in and out, and checks their sessions and CSRF tokens."""

    def __init__(
        self,
        key: bytes,
        lifetime: int,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.time,
    ):
        self.key = key
        self.lifetime = lifetime
        self.limiter = limiter
        self.clock = clock

    def _mac(self, message: str) -> str:
        return _b64(hmac.new(self.key, message.encode(), hashlib.sha256).digest())

    def login(self, password: str, client: Client) -> str:
        """Check ``password``: the cookie value of a new session, or an error.

        Over the failed-login limit of ``client``'s network the answer is 429 even for the
        right password; each wrong password counts one failure.
        """
        self.limiter.check("login", client)
        encoded = _setting(PASSWORD_SETTING)
        if encoded is None:
            raise Unauthorized("No admin password is set; run commentd admin set-password.")
        if len(password) > MAX_PASSWORD_LENGTH or not check_password(password, encoded):
            with contextlib.suppress(TooManyRequests):  # counted; the next try is refused
                self.limiter.hit("login", client)
            with write_transaction():  # bounded by the limit above: refused tries are not
                audit.record(self.actor(client), "login_failed", "admin", None)
            raise Unauthorized("Wrong password.")
        session = Session(secrets.token_urlsafe(16), int(self.clock()) + self.lifetime)
        with write_transaction():
            audit.record(self.actor(client), "login", "admin", None)
        return self.cookie(session)

    def cookie(self, session: Session) -> str:
        """The signed cookie value for ``session`` under the current generation."""
        stamp = f"{session.id}.{session.expires}.{generation()}"
        return f"{stamp}.{self._mac('session:' + stamp)}"

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie proves, or ``None`` (missing, forged, expired, revoked)."""
        if not cookie or len(cookie) > MAX_COOKIE_LENGTH:
            return None
        parts = cookie.split(".")
        if len(parts) != 4:
            return None
        session_id, expires, gen, mac = (
            parts[0],
            whole_number(parts[1]),
            whole_number(parts[2]),
            parts[3],
        )
        if expires is None or gen is None:
            return None
        stamp = f"{session_id}.{expires}.{gen}"
        if not hmac.compare_digest(mac.encode(), self._mac("session:" + stamp).encode()):
            return None
        if expires <= self.clock() or gen != generation():
            return None
        if UsedToken.get_or_none(UsedToken.nonce == REVOKED_PREFIX + session_id) is not None:
            return None
        return Session(session_id, expires)

    def logout(self, session: Session, client: Client) -> None:
        """End ``session``: its cookie is refused from now on, even if kept."""
        lasts = max(0, session.expires - int(self.clock()))
        with write_transaction():
            UsedToken.insert(
                nonce=REVOKED_PREFIX + session.id,
                used=utcnow(),
                expires=utcnow() + dt.timedelta(seconds=lasts),
            ).on_conflict_ignore().execute()
            audit.record(self.actor(client), "logout", "admin", None)

    # -- CSRF ---------------------------------------------------------------------------

    def csrf_token(self, session_id: str) -> str:
        """The token every form of ``session_id`` carries."""
        return self._mac("csrf:" + session_id)

    def check_csrf(self, session_id: str, token: str | None) -> bool:
        """Whether ``token`` is the CSRF token of ``session_id`` (constant time)."""
        return bool(token) and hmac.compare_digest(
            str(token).encode(), self.csrf_token(session_id).encode()
        )

    @staticmethod
    def login_nonce() -> str:
        """A random id for the sign-in form's CSRF token, before there is a session."""
        return "login-" + secrets.token_urlsafe(16)

    @staticmethod
    def actor(client: Client) -> Actor:
        """Who acts from the admin page: the admin, from the client's network."""
        return Actor("admin", name="admin", address=client.network)
