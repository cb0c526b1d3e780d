"""A remote Fediverse account for tests, in Python: its actor served by a real loopback
server (``tests.pages``), its own RSA key, and signed POSTs to commentd's inbox made with
commentd's own signer, or broken on purpose (no signature, a tampered body, another key, an
old date). The end-to-end tests use a real peer instead (Fedify, ``tests/fediverse/peer``);
this one is for what a real peer never sends."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from commentd.services.fediverse import signatures
from commentd.services.fediverse.keys import KeyPair, new_private_pem
from tests.pages import Answer, Site

AS = "https://www.w3.org/ns/activitystreams"
_serial = itertools.count(1)
_KEYS: list[KeyPair] = []


def session_key(index: int = 0) -> KeyPair:
    """A key pair made once per test session (RSA keys take a while to make)."""
    while len(_KEYS) <= index:
        _KEYS.append(KeyPair(new_private_pem()))
    return _KEYS[index]


class RemoteAccount:
    """``@name`` on the loopback ``site``."""

    def __init__(self, site: Site, name: str = "grace", key: KeyPair | None = None):
        self.site, self.name = site, name
        self.key = key or session_key()
        self.id = site.url(f"/users/{name}")
        self.key_id = f"{self.id}#main-key"
        self.inbox = site.url(f"/users/{name}/inbox")
        self.display_name = name.title() + " Remote"
        self.serve()

    def document(self) -> dict[str, Any]:
        return {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "name": self.display_name,
            "url": self.site.url(f"/@{self.name}"),
            "icon": {"type": "Image", "url": self.site.url(f"/{self.name}.png")},
            "inbox": self.inbox,
            "endpoints": {"sharedInbox": self.site.url("/inbox")},
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.key.public_pem},
        }

    def serve(self) -> None:
        body = json.dumps(self.document())
        self.site.pages[f"/users/{self.name}"] = Answer(
            body, headers={"Content-Type": "application/activity+json"}
        )
        for path in (f"/users/{self.name}/inbox", "/inbox"):
            self.site.pages[path] = Answer("", status=202)

    def new_id(self, kind: str) -> str:
        return self.site.url(f"/users/{self.name}/{kind}/{next(_serial)}")

    def activity(self, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {
            "@context": AS,
            "id": self.new_id("activities"),
            "type": kind,
            "actor": self.id,
            "object": obj,
            **extra,
        }

    def note(self, in_reply_to: str, content: str = "<p>Nice post!</p>", **extra) -> dict:
        note_id = self.new_id("statuses")
        return {
            "id": note_id,
            "type": "Note",
            "attributedTo": self.id,
            "inReplyTo": in_reply_to,
            "content": content,
            "url": note_id.replace("/statuses/", "/notes/"),
            "published": "2026-12-01T10:00:00Z",
            "to": [AS + "#Public"],
            **extra,
        }

    def signed(
        self,
        url: str,
        activity: dict[str, Any],
        *,
        key: KeyPair | None = None,
        key_id: str | None = None,
        now: dt.datetime | None = None,
        body: bytes | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a signed POST of ``activity`` to ``url``; ``body``
        replaces what was signed (a tampered body)."""
        signed_body = json.dumps(activity).encode()
        headers = signatures.sign(
            (key or self.key).private_key,
            key_id or self.key_id,
            "POST",
            url,
            signed_body,
            now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
            {"Content-Type": "application/activity+json"},
        )
        return (body if body is not None else signed_body), headers
