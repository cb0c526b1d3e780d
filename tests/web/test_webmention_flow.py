"""A reply written on another blog, end to end over real HTTP: the other blog's page (a real
loopback server) is sent to POST /webmention, the outbox worker verifies it, a moderator
approves it, and readers see it in the JSON thread, the page without JavaScript and the feed;
the other blog edits it, then deletes it, and the thread follows."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import feedparser
import mf2py

from commentd.services import outbox
from commentd.services.audit import Actor
from commentd.services.moderation import ModerationService
from commentd.storage.database import connection
from commentd.storage.models import Comment
from tests.pages import Answer, serving

SITE = "https://blog.example.com"
URI = "/2024/post/"
TARGET = SITE + URI
MODERATOR = Actor("cli", "tester")


def reply(words: str) -> str:
    return f"""<!doctype html><html><body><article class="h-entry">
<a class="p-author h-card" href="https://alice.example/">Alice Example</a>
<p>Re: <a class="u-in-reply-to" href="{TARGET}">the post</a></p>
<div class="e-content"><p>{words}</p></div>
<time class="dt-published" datetime="2026-12-01T10:00:00Z">today</time>
</article></body></html>"""


def send(client, source: str) -> dict:
    answer = client.post(
        "/webmention",
        body=urlencode({"source": source, "target": TARGET}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 202, answer.raw
    return answer.json


def status(client, accepted: dict) -> dict:
    url = urlsplit(accepted["status_url"])
    return client.get(f"{url.path}?{url.query}").json


def shown(client) -> list[dict]:
    return client.thread(URI).json["comments"]


def test_a_reply_from_another_blog_lives_in_the_thread(serve, make_app, make_config):
    config = make_config(
        **{
            "site.url": SITE,
            "webmention.allow_private_addresses": True,  # the other blog is on loopback
            "moderation.mode": "all",
        }
    )
    client = serve(make_app(config))
    worker = outbox.Worker(config, steps=[])
    with serving() as other:
        other.pages["/replies/1"] = Answer(reply("Great post, Bob."))
        source = other.url("/replies/1")

        accepted = send(client, source)
        assert status(client, accepted)["status"] == "queued"
        assert other.received == []  # nothing is fetched while the sender waits
        assert worker.run_once() == 1
        assert other.received[0].path == "/replies/1"
        checked = status(client, accepted)
        assert (checked["status"], checked["type"]) == ("verified", "reply")
        assert shown(client) == []  # held for a moderator, as every comment here is

        with connection():
            held = Comment.get(Comment.source == source)
            ModerationService(config).approve([held.id], MODERATOR)
        [comment] = shown(client)
        assert comment["author"] == "Alice Example"
        assert comment["website"] == "https://alice.example/"
        assert (comment["type"], comment["source"]) == ("reply", source)
        assert (
            f"via {urlsplit(source).hostname}"
            in client.get("/html/thread", query={"uri": URI}).raw.decode()
        )
        assert comment["html"] == "<p>Great post, Bob.</p>"

        fragment = client.get("/html/thread", query={"uri": URI})
        assert "Great post, Bob." in fragment.raw.decode()
        items = mf2py.parse(doc=fragment.raw.decode(), url=SITE)["items"]
        assert "Great post, Bob." in str(items)
        feed = feedparser.parse(client.get("/feed/thread.atom", query={"uri": URI}).raw)
        assert [entry.author for entry in feed.entries] == ["Alice Example"]
        assert "Great post, Bob." in feed.entries[0].summary + str(feed.entries[0].get("content"))

        other.pages["/replies/1"] = Answer(reply("Great post, Bob. Edited: and thanks!"))
        again = send(client, source)
        assert again["id"] == accepted["id"]
        worker.run_once()
        [edited] = shown(client)
        assert (edited["id"], edited["html"]) == (
            comment["id"],
            "<p>Great post, Bob. Edited: and thanks!</p>",
        )

        other.pages["/replies/1"] = Answer("gone", 410)
        send(client, source)
        worker.run_once()
        assert status(client, accepted)["status"] == "deleted"
        assert [c["html"] for c in shown(client) if c["html"]] == []

    scraped = client.get("/metrics").raw.decode()
    outcomes = {
        line.split('outcome="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith("commentd_webmentions_total{")
    }
    assert outcomes["received"] >= 3
    assert outcomes["verified"] >= 2
    assert outcomes["deleted"] >= 1
