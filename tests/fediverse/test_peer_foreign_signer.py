"""The Fedify peer against a signer that is not Fedify: what commentd's side must do.

A tiny actor (``http.server`` + ``openssl`` for the RSA signatures) plays the blog: it serves
its actor document, signs a Follow with draft-cavage HTTP Signatures the way Mastodon does,
and receives the peer's Accept, whose signature it checks with ``openssl dgst -verify``.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from tests.fediverse.peer import FedifyPeer, PeerError, free_port, start_peer

AS = "https://www.w3.org/ns/activitystreams"
SEC = "https://w3id.org/security/v1"


class Blog:
    """A minimal ActivityPub actor on 127.0.0.1 with its own RSA key."""

    def __init__(self, key_dir: Path) -> None:
        self.key = key_dir / "key.pem"
        generated = subprocess.run(
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            check=True,
            capture_output=True,
        ).stdout
        self.key.write_bytes(generated)
        self.public_pem = subprocess.run(
            ["openssl", "pkey", "-pubout"], input=generated, check=True, capture_output=True
        ).stdout.decode()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.actor_id = f"{self.base}/actor"
        self.context: list = [AS, SEC]
        self.received: list[tuple[dict, dict]] = []
        self.inbox_status = 202
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def actor(self) -> dict:
        return {
            "@context": self.context,
            "id": self.actor_id,
            "type": "Service",
            "preferredUsername": "blog",
            "inbox": f"{self.base}/inbox",
            "publicKey": {
                "id": f"{self.actor_id}#main-key",
                "owner": self.actor_id,
                "publicKeyPem": self.public_pem,
            },
        }

    def _handler(self):
        blog = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps(blog.actor()).encode()
                self.send_response(200 if self.path == "/actor" else 404)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                blog.received.append(
                    ({k.lower(): v for k, v in self.headers.items()}, json.loads(body))
                )
                answer = b"" if blog.inbox_status < 400 else b"signature refused"
                self.send_response(blog.inbox_status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        return Handler

    def sign(self, text: str) -> str:
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=text.encode(),
            check=True,
            capture_output=True,
        ).stdout
        return base64.b64encode(signature).decode()

    def deliver(self, inbox: str, activity: dict, *, date: str | None = None, digest=None):
        """POST ``activity`` signed as Mastodon does: (request-target) host date digest."""
        body = json.dumps(activity).encode()
        digest = digest or "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        date = date or formatdate(usegmt=True)
        path = urllib.request.urlparse(inbox).path
        host = urllib.request.urlparse(inbox).netloc
        signed = f"(request-target): post {path}\nhost: {host}\ndate: {date}\ndigest: {digest}"
        header = (
            f'keyId="{self.actor_id}#main-key",algorithm="rsa-sha256",'
            f'headers="(request-target) host date digest",signature="{self.sign(signed)}"'
        )
        request = urllib.request.Request(
            inbox,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/activity+json",
                "Date": date,
                "Digest": digest,
                "Signature": header,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def alice(tmp_path_factory) -> Iterator[FedifyPeer]:
    peer = start_peer(tmp_path_factory)
    yield peer
    peer.stop()


@pytest.fixture
def blog(tmp_path) -> Iterator[Blog]:
    made = Blog(tmp_path)
    yield made
    made.close()


def follow(blog: Blog, alice: FedifyPeer, suffix: str = "1") -> dict:
    return {
        "@context": AS,
        "id": f"{blog.base}/follows/{suffix}",
        "type": "Follow",
        "actor": blog.actor_id,
        "object": alice.actor_id,
    }


def verify_with_openssl(public_pem: str, text: str, signature_b64: str, tmp_path: Path) -> bool:
    (tmp_path / "peer.pub").write_text(public_pem)
    (tmp_path / "sig").write_bytes(base64.b64decode(signature_b64))
    public, signature = str(tmp_path / "peer.pub"), str(tmp_path / "sig")
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", public, "-signature", signature],
        input=text.encode(),
        capture_output=True,
    )
    return result.returncode == 0


def test_a_cavage_signed_follow_is_verified_and_accepted(alice, blog, tmp_path):
    alice.reset()
    status, _ = blog.deliver(f"{alice.base}/users/alice/inbox", follow(blog, alice))
    assert status == 202
    received = alice.wait_for(lambda a: a["type"] == "Follow")
    assert received["actor"] == blog.actor_id
    assert blog.actor_id in alice.followers()

    # the Accept came back to the blog's inbox, signed by alice: check it as commentd will
    assert len(blog.received) == 1
    headers, accept = blog.received[0]
    assert accept["type"] == "Accept"
    assert accept["actor"] == alice.actor_id
    assert accept["object"]["id"] == f"{blog.base}/follows/1"
    fields = dict(
        part.split("=", 1) for part in headers["signature"].replace('"', "").split(",", 3)
    )
    assert fields["keyId"] == f"{alice.actor_id}#main-key"
    assert fields["algorithm"] == "rsa-sha256"
    lines = []
    for name in fields["headers"].split():
        value = "post /inbox" if name == "(request-target)" else headers[name]
        lines.append(f"{name}: {value}")
    with urllib.request.urlopen(
        urllib.request.Request(alice.actor_id, headers={"Accept": "application/activity+json"}),
        timeout=10,
    ) as response:
        public_pem = json.loads(response.read())["publicKey"]["publicKeyPem"]
    assert verify_with_openssl(public_pem, "\n".join(lines), fields["signature"], tmp_path)
    assert not verify_with_openssl(
        public_pem, "\n".join(lines) + "x", fields["signature"], tmp_path
    )


def test_a_wrong_digest_or_an_old_date_is_refused(alice, blog):
    inbox = f"{alice.base}/inbox"
    assert blog.deliver(inbox, follow(blog, alice, "2"), digest="SHA-256=AAAA")[0] == 401
    old = formatdate(timeval=time.time() - 2 * 3600, usegmt=True)
    assert blog.deliver(inbox, follow(blog, alice, "3"), date=old)[0] == 401


def test_an_actor_without_the_security_context_cannot_be_verified(alice, blog):
    """Fedify drops ``publicKey`` unless the actor's @context has w3id.org/security/v1."""
    blog.context = [AS]
    alice.reset(cache=True)
    assert alice.lookup(blog.actor_id)["publicKeys"] == []
    status, body = blog.deliver(f"{alice.base}/inbox", follow(blog, alice, "4"))
    assert (status, body) == (401, b"Failed to verify the request signature.")
    alice.reset(cache=True)


def test_a_refused_delivery_reports_the_remote_answer(alice, blog):
    blog.inbox_status = 401
    with pytest.raises(PeerError) as raised:
        alice.follow(blog.actor_id)
    assert raised.value.status == 502
    assert "401 Unauthorized" in raised.value.message
    assert "signature refused" in raised.value.message
    assert f"{blog.base}/inbox" in raised.value.message


def test_what_fedify_refuses_or_ignores_in_a_signed_activity(alice, blog):
    """Pinned, for the sender's side: Fedify's answers to signed but unusual activities."""
    alice.reset()
    inbox = f"{alice.base}/inbox"
    # a remote @context Fedify has not preloaded cannot be fetched (no internet): 400
    unloadable = {**follow(blog, alice, "ctx"), "@context": [AS, "http://joinmastodon.org/ns"]}
    assert blog.deliver(inbox, unloadable) == (400, b"Invalid activity.")
    # the same terms inline are fine
    inline = {
        **follow(blog, alice, "inline"),
        "@context": [AS, {"toot": "http://joinmastodon.org/ns#"}],
    }
    assert blog.deliver(inbox, inline)[0] == 202
    # signed by the blog's key, claiming another actor: 401
    forged = {**follow(blog, alice, "forged"), "actor": alice.actor_id}
    assert blog.deliver(inbox, forged) == (401, b"The signer and the actor do not match.")
    # the same id twice: 202 both times, the listener runs once
    again = follow(blog, alice, "again")
    assert blog.deliver(inbox, again)[0] == 202
    status, body = blog.deliver(inbox, again)
    assert (status, body) == (202, f"Activity <{again['id']}> has already been processed.".encode())
    assert [a["id"] for a in alice.inbox()] == [inline["id"], again["id"]]
