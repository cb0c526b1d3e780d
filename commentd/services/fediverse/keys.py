"""The blog account's RSA key pair: made on first use and kept in the database (the
``fediverse_key`` setting, PEM), so that a backup carries the account and its followers with
it and every process signs with the same key."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from peewee import IntegrityError

from commentd.storage.database import write_transaction
from commentd.storage.models import Setting

KEY_SETTING = "fediverse_key"
KEY_SIZE = 2048  # what Mastodon makes and expects


@dataclass(frozen=True)
class KeyPair:
    """A private key in PEM, with its key object and public half."""

    private_pem: str

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @cached_property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def new_private_pem() -> str:
    """A new RSA private key in PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def account_keys() -> KeyPair:
    """The account's key pair, made and saved the first time (a race keeps the first)."""
    row = Setting.get_or_none(Setting.key == KEY_SETTING)
    if row is None:
        try:
            with write_transaction():
                Setting.create(key=KEY_SETTING, value=new_private_pem())
        except IntegrityError:
            pass  # another process saved one first; use theirs
        row = Setting.get(Setting.key == KEY_SETTING)
    return _pair(row.value)


@lru_cache(maxsize=4)
def _pair(private_pem: str) -> KeyPair:
    """One ``KeyPair`` per key, so that the PEM is parsed once, not at every signature."""
    return KeyPair(private_pem)
