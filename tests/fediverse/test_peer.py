"""The Fedify peer against a second instance of itself: real HTTP Signatures both ways.

Two peers run for the module, alice and bob, each its own Node.js process with its own RSA
key pair on its own port. Every activity one sends, the other's Fedify verifies before its
listeners record it, so an activity in ``inbox()`` is one that passed verification.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.fediverse import peer as peer_module
from tests.fediverse.peer import FedifyPeer, PeerError, PeerNotReady, free_port, start_peer

AP_JSON = "application/activity+json"


@pytest.fixture(scope="module")
def peers(tmp_path_factory) -> Iterator[tuple[FedifyPeer, FedifyPeer]]:
    started: dict[str, FedifyPeer] = {}
    errors: list[BaseException] = []

    def run(name: str, handle: str) -> None:
        try:
            started[handle] = start_peer(tmp_path_factory, name=name, handle=handle)
        except BaseException as error:
            errors.append(error)

    # both at once: each takes a few seconds to load Fedify and make its key
    threads = [
        threading.Thread(target=run, args=("Alice Peer", "alice")),
        threading.Thread(target=run, args=("Bob Peer", "bob")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        if errors:
            raise errors[0]
        yield started["alice"], started["bob"]
    finally:
        for peer in started.values():
            peer.stop()


@pytest.fixture
def alice(peers) -> FedifyPeer:
    return peers[0]


@pytest.fixture
def bob(peers) -> FedifyPeer:
    return peers[1]


@pytest.fixture
def following(alice, bob) -> None:
    """Bob follows alice (and the Accept came back); both inboxes start empty."""
    if bob.actor_id not in alice.followers():
        bob.follow(alice.actor_id)
        bob.wait_for(lambda a: a["type"] == "Accept")
    alice.reset()
    bob.reset()


def get(url: str, accept: str = AP_JSON) -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read()


def post_unsigned(url: str, activity: dict) -> tuple[int, bytes]:
    """POST ``activity`` to an inbox with no Signature header."""
    request = urllib.request.Request(
        url, data=json.dumps(activity).encode(), method="POST", headers={"Content-Type": AP_JSON}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def of_type(kind: str):
    return lambda activity: activity["type"] == kind


def test_health_names_the_actor(alice, bob):
    assert alice.actor_id == f"{alice.base}/users/alice"
    assert bob.actor_id == f"{bob.base}/users/bob"
    assert alice.health() == {"ok": True, "actor": alice.actor_id}


def test_actor_document(alice):
    status, content_type, body = get(alice.actor_id)
    assert status == 200
    assert content_type.startswith(AP_JSON)
    actor = json.loads(body)
    assert "https://www.w3.org/ns/activitystreams" in actor["@context"]
    assert actor["type"] == "Person"
    assert actor["id"] == alice.actor_id
    assert actor["preferredUsername"] == "alice"
    assert actor["name"] == "Alice Peer"
    assert actor["summary"]
    assert actor["inbox"] == f"{alice.base}/users/alice/inbox"
    assert actor["endpoints"]["sharedInbox"] == f"{alice.base}/inbox"
    assert actor["followers"] == f"{alice.base}/users/alice/followers"
    assert actor["url"] == f"{alice.base}/@alice"
    key = actor["publicKey"]
    assert key["id"] == f"{alice.actor_id}#main-key"
    assert key["owner"] == alice.actor_id
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert actor["icon"]["type"] == "Image"
    status, content_type, png = get(actor["icon"]["url"], accept="image/*")
    assert (status, content_type) == (200, "image/png")
    assert png.startswith(b"\x89PNG")


def test_actor_needs_an_activitypub_accept_header(alice):
    status, _, _ = get(alice.actor_id, accept="text/html")
    assert status == 406


def test_webfinger(alice, bob):
    host = f"127.0.0.1:{alice.port}"
    found = bob.webfinger(f"acct:alice@{host}")
    assert found["actor"] == alice.actor_id
    assert found["jrd"]["subject"] == f"acct:alice@{host}"


def test_webfinger_of_an_unknown_account_is_an_error(alice, bob):
    with pytest.raises(PeerError) as raised:
        bob.webfinger(f"acct:nobody@127.0.0.1:{alice.port}")
    assert raised.value.status == 502
    assert "404" in raised.value.message


def test_follow_is_accepted(alice, bob):
    alice.reset()
    bob.reset()
    follow_id = bob.follow(alice.actor_id)

    follow = alice.wait_for(of_type("Follow"))
    assert follow["id"] == follow_id
    assert follow["actor"] == bob.actor_id
    assert follow["object"] == alice.actor_id
    # what bob's Fedify sent: draft-cavage, RSA-SHA256, Mastodon's headers
    signature = follow["headers"]["signature"]
    assert f'keyId="{bob.actor_id}#main-key"' in signature
    assert 'algorithm="rsa-sha256"' in signature
    signed = signature.split('headers="')[1].split('"')[0].split()
    assert {"(request-target)", "host", "date", "digest"} <= set(signed)
    assert follow["headers"]["digest"].startswith("SHA-256=")
    assert follow["headers"]["content-type"] == AP_JSON

    accept = bob.wait_for(of_type("Accept"))
    assert accept["actor"] == alice.actor_id
    assert accept["object"]["type"] == "Follow"
    assert accept["object"]["id"] == follow_id
    assert bob.actor_id in alice.followers()


def test_followers_collection(alice, bob, following):
    status, _, body = get(f"{alice.base}/users/alice/followers")
    assert status == 200
    assert json.loads(body)["type"] in {"Collection", "OrderedCollection"}


def test_post_reaches_followers_and_is_dereferenceable(alice, bob, following):
    posted = alice.post("<p>Hello, followers</p>")
    create = bob.wait_for(of_type("Create"))
    assert create["id"] == posted["activity"]
    assert create["actor"] == alice.actor_id
    note = create["object"]
    assert note["type"] == "Note"
    assert note["id"] == posted["id"]
    assert note["attributedTo"] == alice.actor_id
    assert note["content"] == "<p>Hello, followers</p>"
    # Fedify writes the public collection as the compact IRI "as:Public" (Mastodon writes
    # the full https://www.w3.org/ns/activitystreams#Public): a receiver must take both
    assert create["raw"]["to"] == "as:Public"
    assert create["raw"]["object"]["to"] == "as:Public"

    status, content_type, body = get(posted["id"])
    assert status == 200
    assert content_type.startswith(AP_JSON)
    fetched = json.loads(body)
    assert fetched["id"] == posted["id"]
    assert fetched["content"] == "<p>Hello, followers</p>"
    assert fetched["published"]
    status, _, body = get(posted["activity"])
    assert status == 200
    assert json.loads(body)["type"] == "Create"


def test_reply_update_delete(alice, bob, following):
    original = alice.post("<p>A post to reply to</p>")
    bob.wait_for(of_type("Create"))

    reply = bob.reply(original["id"], alice.actor_id, "<p>A <b>reply</b></p>")
    create = alice.wait_for(of_type("Create"))
    assert create["id"] == reply["activity"]
    assert create["actor"] == bob.actor_id
    assert create["object"]["id"] == reply["id"]
    assert create["object"]["inReplyTo"] == original["id"]
    assert create["object"]["content"] == "<p>A <b>reply</b></p>"
    assert create["object"]["attributedTo"] == bob.actor_id
    assert alice.actor_id in _as_list(create["object"].get("cc"))
    assert create["object"]["tag"]["type"] == "Mention"
    assert create["raw"]["signature"]["type"] == "RsaSignature2017"

    update_id = bob.update(reply["id"], "<p>An edited reply</p>")
    update = alice.wait_for(of_type("Update"))
    assert update["id"] == update_id
    assert update["object"]["id"] == reply["id"]
    assert update["object"]["content"] == "<p>An edited reply</p>"
    assert update["object"]["updated"]
    status, _, body = get(reply["id"])
    assert json.loads(body)["content"] == "<p>An edited reply</p>"

    delete_id = bob.delete(reply["id"])
    delete = alice.wait_for(of_type("Delete"))
    assert delete["id"] == delete_id
    assert delete["actor"] == bob.actor_id
    assert delete["object"] == {"id": reply["id"], "type": "Tombstone"}
    status, content_type, body = get(reply["id"])
    assert status == 410
    assert content_type.startswith(AP_JSON)
    assert json.loads(body)["type"] == "Tombstone"


def test_like_announce_and_undo(alice, bob, following):
    note = alice.post("<p>Like me</p>")["id"]
    like_id = bob.like(note, alice.actor_id)
    like = alice.wait_for(of_type("Like"))
    assert (like["id"], like["actor"], like["object"]) == (like_id, bob.actor_id, note)

    announce_id = bob.announce(note, alice.actor_id)
    announce = alice.wait_for(of_type("Announce"))
    assert (announce["id"], announce["actor"], announce["object"]) == (
        announce_id,
        bob.actor_id,
        note,
    )

    undo_like = bob.undo(like_id, alice.actor_id)
    undo_announce = bob.undo(announce_id)  # to whoever got the Announce
    undos = [a for a in alice.inbox() if a["type"] == "Undo"]
    assert [u["id"] for u in undos] == [undo_like, undo_announce]
    assert undos[0]["object"]["type"] == "Like"
    assert undos[0]["object"]["id"] == like_id
    assert undos[1]["object"]["type"] == "Announce"
    assert undos[1]["object"]["id"] == announce_id


def test_undo_of_something_never_sent_is_an_error(bob):
    with pytest.raises(PeerError) as raised:
        bob.undo(f"{bob.base}/users/bob/activities/nonesuch")
    assert raised.value.status == 404


def test_unfollow(alice, bob, following):
    undo_id = bob.unfollow(alice.actor_id)
    undo = alice.wait_for(of_type("Undo"))
    assert undo["id"] == undo_id
    assert undo["object"]["type"] == "Follow"
    assert undo["object"]["actor"] == bob.actor_id
    assert bob.actor_id not in alice.followers()


def test_delete_actor(alice, bob, following):
    delete_id = bob.delete_actor(alice.actor_id)
    delete = alice.wait_for(of_type("Delete"))
    assert delete["id"] == delete_id
    assert delete["actor"] == bob.actor_id
    assert delete["object"] == bob.actor_id


def test_unsigned_post_to_the_inbox_is_refused(alice, bob):
    alice.reset()
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{bob.base}/users/bob/activities/forged",
        "type": "Follow",
        "actor": bob.actor_id,
        "object": alice.actor_id,
    }
    for inbox in (f"{alice.base}/users/alice/inbox", f"{alice.base}/inbox"):
        assert post_unsigned(inbox, activity) == (401, b"Failed to verify the request signature.")
    assert alice.inbox() == []


def test_a_linked_data_signature_alone_is_enough_for_fedify(alice, bob, following):
    """What Fedify accepts: an LD-signed body (RsaSignature2017) needs no HTTP signature.

    Fedify checks the body's Linked Data Signature first and the HTTP signature only when
    that fails, so a replayed signed Create, POSTed with no Signature header to an inbox
    that has not seen it, is taken. (Its own send path always adds both.)
    """
    original = alice.post("<p>Relay me</p>")["id"]
    bob.wait_for(of_type("Create"))
    bob.reply(original, alice.actor_id, "<p>Signed twice</p>")
    signed = alice.wait_for(of_type("Create"))["raw"]
    assert "signature" in signed
    bob.reset()
    status, _ = post_unsigned(f"{bob.base}/users/bob/inbox", signed)
    assert status == 202
    replayed = bob.wait_for(of_type("Create"))
    assert replayed["id"] == signed["id"]
    assert "signature" not in replayed["headers"]

    tampered = {**signed, "id": signed["id"] + "-tampered"}
    assert post_unsigned(f"{bob.base}/users/bob/inbox", tampered)[0] == 401


def test_delivery_errors_reach_the_caller(alice):
    dead = f"http://127.0.0.1:{free_port()}/users/nobody"
    with pytest.raises(PeerError) as raised:
        alice.follow(dead)
    assert raised.value.status == 502
    assert dead in raised.value.message


def test_bad_control_requests(alice):
    with pytest.raises(PeerError) as raised:
        alice.update(f"{alice.base}/users/alice/notes/nonesuch", "x")
    assert raised.value.status == 404
    with pytest.raises(PeerError) as raised:
        alice._call("POST", "no-such-operation", {})
    assert raised.value.status == 404


def test_missing_node_modules_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(peer_module, "PEER_DIR", tmp_path)
    with pytest.raises(PeerNotReady, match=r"npm ci --prefix tests/fediverse/peer"):
        FedifyPeer().start()


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def test_lookup_shows_how_fedify_reads_a_document(alice, bob):
    found = alice.lookup(bob.actor_id)
    assert found["type"] == "Person"
    assert found["actor"] is True
    assert found["inbox"] == f"{bob.base}/users/bob/inbox"
    assert found["sharedInbox"] == f"{bob.base}/inbox"
    assert found["publicKeys"] == [{"id": f"{bob.actor_id}#main-key", "owner": bob.actor_id}]
    alice.reset(cache=True)
    assert alice.lookup(bob.actor_id)["publicKeys"][0]["owner"] == bob.actor_id
