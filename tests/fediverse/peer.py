"""A driver for the Fedify peer (tests/fediverse/peer/peer.mjs): a real ActivityPub server.

The peer plays a remote instance with one actor (``alice`` by default) on 127.0.0.1, signs
what it sends with draft-cavage HTTP Signatures and verifies what it receives. Its control
API (``/control/...``, JSON in and out) makes it act; this module wraps it::

    peer = FedifyPeer(name="Alice Peer").start()
    peer.follow("http://127.0.0.1:8123/actor")
    ...
    peer.stop()

Only the standard library is used. The peer needs its npm packages: ``npm ci --prefix
tests/fediverse/peer`` (``.ci/run`` does it); without them :meth:`FedifyPeer.start` fails
with that instruction rather than skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.net import free_port

__all__ = ["FedifyPeer", "PeerError", "PeerNotReady", "free_port", "start_peer"]

PEER_DIR = Path(__file__).resolve().parent / "peer"
STARTUP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 30.0


class PeerError(Exception):
    """The control API answered with an error (a 4xx or 5xx and ``{"error": message}``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"peer answered {status}: {message}")
        self.status = status
        self.message = message


class PeerNotReady(RuntimeError):
    """The peer could not be started."""


class FedifyPeer:
    """One ``node peer.mjs`` process and its control API."""

    def __init__(
        self, name: str = "Alice Peer", handle: str = "alice", log_dir: Path | None = None
    ):
        self.name = name
        self.handle = handle
        self.log_dir = log_dir
        self.port: int | None = None
        self.base = ""
        self.actor_id = ""
        self._process: subprocess.Popen | None = None
        self._stderr = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, port: int | None = None) -> FedifyPeer:
        """Start the peer on ``port`` (a free one if None); wait until /control/health answers."""
        if self._process is not None:
            raise PeerNotReady("the peer is already running")
        if not (PEER_DIR / "node_modules" / "@fedify" / "fedify").is_dir():
            raise PeerNotReady(
                f"{PEER_DIR / 'node_modules'} is missing: run "
                "`npm ci --prefix tests/fediverse/peer` (the Fedify peer's npm packages)"
            )
        node = shutil.which("node")
        if node is None:
            raise PeerNotReady("`node` is not on PATH: the Fedify peer needs Node.js 20")
        self.port = port if port is not None else free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._stderr = open(self.log_dir / f"peer-{self.handle}-{self.port}.log", "w+b")  # noqa: SIM115
        else:
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                node,
                "peer.mjs",
                "--port",
                str(self.port),
                "--name",
                self.name,
                "--handle",
                self.handle,
            ],
            cwd=PEER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self._process.poll() is not None:
                output = self.stderr()
                code = self._process.returncode
                self._cleanup()
                raise PeerNotReady(
                    f"the Fedify peer exited with {code} before it was ready:\n{output}"
                )
            try:
                health = self._call("GET", "health", timeout=1)
            except (OSError, PeerError):
                health = None
            if health and health.get("ok"):
                self.actor_id = health["actor"]
                return self
            if time.monotonic() > deadline:
                output = self.stderr()
                self.stop()
                raise PeerNotReady(
                    f"the Fedify peer did not answer {self.base}/control/health within "
                    f"{STARTUP_TIMEOUT:.0f} s:\n{output}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the peer and wait for it."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def stderr(self) -> str:
        """What the peer wrote to stderr (and stdout) so far."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        self._stderr.seek(0, os.SEEK_END)
        return text

    def __enter__(self) -> FedifyPeer:
        if self._process is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the control API -------------------------------------------------------------------

    def _call(
        self, method: str, operation: str, body: Any = None, timeout: float = REQUEST_TIMEOUT
    ):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}/control/{operation}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                text = error.read().decode("utf-8", "replace")
            try:
                message = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                message = text
            raise PeerError(error.code, message) from None

    def _post(self, operation: str, **body: Any) -> dict:
        return self._call("POST", operation, {k: v for k, v in body.items() if v is not None})

    def health(self) -> dict:
        return self._call("GET", "health")

    def webfinger(self, resource: str) -> dict:
        """``{"jrd": ..., "actor": href of the rel=self application/activity+json link}``."""
        return self._post("webfinger", resource=resource)

    def follow(self, actor: str) -> str:
        """Send Follow to ``actor``; the Follow's id."""
        return self._post("follow", actor=actor)["id"]

    def unfollow(self, actor: str) -> str:
        """Send Undo(Follow) to ``actor``; the Undo's id."""
        return self._post("unfollow", actor=actor)["id"]

    def post(self, content: str, to: str | None = None) -> dict:
        """A public Note, Create delivered to ``to`` or else every follower: ``{id, activity}``."""
        return self._post("post", content=content, to=to)

    def reply(self, in_reply_to: str, to: str, content: str, summary: str | None = None) -> dict:
        """A Note in reply to ``in_reply_to``, Create delivered to ``to``: ``{id, activity}``."""
        return self._post("reply", inReplyTo=in_reply_to, to=to, content=content, summary=summary)

    def update(self, note: str, content: str, to: str | None = None) -> str:
        """Update(Note) with new content, to the note's recipients (or ``to``); the Update's id."""
        return self._post("update", note=note, content=content, to=to)["id"]

    def delete(self, note: str, to: str | None = None) -> str:
        """Delete(Tombstone) of the note, to its recipients (or ``to``); the Delete's id."""
        return self._post("delete", note=note, to=to)["id"]

    def like(self, obj: str, to: str) -> str:
        return self._post("like", object=obj, to=to)["id"]

    def announce(self, obj: str, to: str) -> str:
        return self._post("announce", object=obj, to=to)["id"]

    def undo(self, activity: str, to: str | None = None) -> str:
        """Undo a Like, Announce or Follow this peer sent; the Undo's id."""
        return self._post("undo", activity=activity, to=to)["id"]

    def delete_actor(self, to: str | None = None) -> str:
        """Delete whose object is this actor (an account deletion), to ``to`` or all followers."""
        return self._post("delete-actor", to=to)["id"]

    def inbox(self) -> list[dict]:
        """Every verified activity received so far, in order."""
        return self._call("GET", "inbox")["activities"]

    def followers(self) -> list[str]:
        return self._call("GET", "followers")["followers"]

    def reset(self, cache: bool = False) -> None:
        """Forget what was received; with ``cache``, also Fedify's cached documents and keys
        (kept 5 minutes otherwise) and the ids of activities it already processed."""
        self._call("POST", "reset", {"cache": cache})

    def lookup(self, url: str) -> dict:
        """How Fedify reads the document at ``url``: ``{type, object, actor}``, and for an
        actor ``inbox``, ``sharedInbox`` and ``publicKeys`` (``[{id, owner}]``)."""
        return self._post("lookup", url=url)

    def wait_for(self, predicate, timeout: float = 10.0) -> dict:
        """The first received activity for which ``predicate(activity)`` holds; waits for it."""
        deadline = time.monotonic() + timeout
        while True:
            for activity in self.inbox():
                if predicate(activity):
                    return activity
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no matching activity in {self.handle}'s inbox: {self.inbox()}"
                )
            time.sleep(0.05)


def start_peer(
    tmp_path_factory=None, name: str = "Alice Peer", handle: str = "alice", port: int | None = None
) -> FedifyPeer:
    """Start a peer for a fixture (logs under a pytest temp dir when a factory is given)."""
    log_dir = None if tmp_path_factory is None else tmp_path_factory.mktemp("fedify-peer")
    return FedifyPeer(name=name, handle=handle, log_dir=log_dir).start(port)
